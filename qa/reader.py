"""Extractive reader: finds the answer span of a question in one or more contexts.

The constructor is cheap; the model loads once, on the first ``read()``. Scores are raw span logits
(start + end), not a softmax inside each window, so spans from different contexts compare directly.

>>> reader = Reader()                                            # doctest: +SKIP
>>> span = reader.read("What is INDUS-X focused on?", [sentence])[0]  # doctest: +SKIP
>>> sentence[span.start:span.end] == span.text                      # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from qa.decoding import clean_boundaries, decode_spans
from qa.loading import bf16_matmul_supported, quiet_model_loading

logger = logging.getLogger(__name__)

DEFAULT_READER_DIR = Path(__file__).parent / "models" / "minilm-l6-squad-reader"
READER_SETTINGS_FILE = "qa_reader.json"


@dataclass(frozen=True)
class ReaderSettings:
    """How the reader cuts its input and decides; stored as ``qa_reader.json`` beside the model."""

    max_seq_len: int = 160
    doc_stride: int = 48
    # Longer questions are cut to this many tokens before they meet the tokenizer, which panics (a
    # Rust panic, not an exception) once the question leaves the context no more room than the
    # stride. 64 keeps 93 tokens of context per window; the longest SQuAD 1.1 train question has 61.
    max_question_tokens: int = 64
    max_answer_tokens: int = 30
    top_k_tokens: int = 20
    # A span is an answer when its score beats the question's no-answer score by more than this.
    # Tuned on dev data at export time (see ``qa.training.export.export_reader``).
    no_answer_threshold: float = 0.0

    def __post_init__(self) -> None:
        room = self.max_seq_len - self.max_question_tokens - 3  # [CLS] question [SEP] context [SEP]
        if room <= self.doc_stride:
            raise ValueError(
                f"max_question_tokens={self.max_question_tokens} leaves {room} context tokens, "
                f"not more than doc_stride={self.doc_stride}"
            )

    @classmethod
    def load(cls, model_dir: Path) -> ReaderSettings:
        path = Path(model_dir) / READER_SETTINGS_FILE
        if not path.exists():
            logger.warning("%s has no %s: using default reader settings", model_dir, READER_SETTINGS_FILE)
            return cls()
        fields = json.loads(path.read_text())
        return cls(**{k: v for k, v in fields.items() if k in cls.__dataclass_fields__})

    def save(self, model_dir: Path, **extra: object) -> None:
        payload = {**self.__dict__, **extra}
        (Path(model_dir) / READER_SETTINGS_FILE).write_text(json.dumps(payload, indent=2) + "\n")


@dataclass(frozen=True)
class Span:
    """A candidate answer: ``contexts[context_index][start:end] == text``.

    ``score`` is the span's start + end logit; ``no_answer_score`` is the question's no-answer logit
    (the lowest [CLS] score over every window read), so ``score - no_answer_score`` compares with the
    reader's ``no_answer_threshold``.
    """

    text: str
    start: int
    end: int
    context_index: int
    score: float
    no_answer_score: float

    @property
    def margin(self) -> float:
        return self.score - self.no_answer_score


class Reader:
    """Reads questions against contexts with a fine-tuned extractive QA model.

    ``bf16`` runs the model in bfloat16; None, the default, turns it on where the CPU supports bf16
    natively. The weights are converted once at load: under autocast alone, every read would cast
    all of them again (about a quarter of the reader's time on the seed article).
    """

    def __init__(
        self,
        model_dir: str | Path = DEFAULT_READER_DIR,
        *,
        batch_size: int = 32,
        settings: ReaderSettings | None = None,
        bf16: bool | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.bf16 = bf16_matmul_supported() if bf16 is None else bf16
        self._settings = settings
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    @classmethod
    def from_model(cls, model, tokenizer, settings: ReaderSettings, batch_size: int = 32) -> Reader:
        """Wrap an already loaded model (used while training, to evaluate checkpoints)."""
        reader = cls(batch_size=batch_size, settings=settings)
        reader._model, reader._tokenizer = model, tokenizer
        return reader

    @property
    def settings(self) -> ReaderSettings:
        if self._settings is None:
            self._settings = ReaderSettings.load(self.model_dir)
        return self._settings

    def load(self) -> None:
        """Load the model now (it otherwise loads on the first read); idempotent."""
        with self._lock:
            if self._model is not None:
                return
            from transformers import AutoModelForQuestionAnswering, AutoTokenizer

            logger.info("loading reader from %s", self.model_dir)
            with quiet_model_loading():
                self._tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
                model = AutoModelForQuestionAnswering.from_pretrained(self.model_dir, dtype=torch.float32)
            self._model = model.to(torch.bfloat16 if self.bf16 else torch.float32).eval()

    def fit_question(self, question: str) -> str:
        """``question`` itself, or its longest prefix of whole tokens that the reader can take
        (``settings.max_question_tokens``); whitespace at the cut is dropped."""
        limit = self.settings.max_question_tokens
        # A token is at least one character: a question this short always fits.
        if len(question) <= limit:
            return question
        if self._model is None:
            self.load()
        offsets = self._tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        if len(offsets) <= limit:
            return question
        return question[: offsets[limit - 1][1]].rstrip()

    def is_answer(self, span: Span) -> bool:
        """True when the span beats the no-answer score by more than the calibrated threshold."""
        return span.margin > self.settings.no_answer_threshold

    def read(self, question: str, contexts: list[str], top_k: int = 5) -> list[Span]:
        """The ``top_k`` best distinct spans over all ``contexts``, best first.

        Contexts longer than the model's window are read in overlapping strides. Returns [] when
        there is nothing to read.
        """
        return self.read_many([(question, list(contexts))], top_k=top_k)[0]

    def read_many(self, requests: list[tuple[str, list[str]]], top_k: int = 5) -> list[list[Span]]:
        """``read`` for several (question, contexts) requests at once, in shared batches.

        A question longer than the reader can take is read cut to its first tokens (``fit_question``).
        """
        questions = [self.fit_question(question) for question, _ in requests]
        pairs = [
            (request, questions[request], context_index, context)
            for request, (_, contexts) in enumerate(requests)
            if questions[request].strip()
            for context_index, context in enumerate(contexts)
            if context.strip()
        ]
        if not pairs:
            return [[] for _ in requests]
        if self._model is None:
            self.load()
        settings = self.settings
        encoding = self._tokenizer(
            [question for _, question, _, _ in pairs],
            [context for _, _, _, context in pairs],
            truncation="only_second",
            max_length=settings.max_seq_len,
            stride=settings.doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=False,
        )
        start_logits, end_logits = self._logits(encoding)

        best: list[dict[tuple[int, int, int], float]] = [{} for _ in requests]
        no_answer: list[float] = [float("inf")] * len(requests)
        for feature, pair in enumerate(encoding["overflow_to_sample_mapping"]):
            request, _, context_index, context = pairs[pair]
            sequence_ids = encoding.sequence_ids(feature)
            word_spans = [
                encoding.word_to_chars(feature, word, sequence_index=1) if sequence == 1 else None
                for word, sequence in zip(encoding.word_ids(feature), sequence_ids)
            ]
            spans, no_answer_score = decode_spans(
                start_logits[feature],
                end_logits[feature],
                word_spans,
                top_k_tokens=settings.top_k_tokens,
                max_answer_tokens=settings.max_answer_tokens,
            )
            no_answer[request] = min(no_answer[request], no_answer_score)
            for (char_start, char_end), score in spans.items():
                clean = clean_boundaries(context, char_start, char_end)
                if clean is None:
                    continue
                key = (context_index, *clean)
                if score > best[request].get(key, float("-inf")):
                    best[request][key] = score
        results = []
        for request, (_, contexts) in enumerate(requests):
            ranked = sorted(best[request].items(), key=lambda item: item[1], reverse=True)[:top_k]
            results.append(
                [
                    Span(
                        text=contexts[ci][cs:ce],
                        start=cs,
                        end=ce,
                        context_index=ci,
                        score=score,
                        no_answer_score=no_answer[request],
                    )
                    for (ci, cs, ce), score in ranked
                ]
            )
        return results

    def _logits(self, encoding) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Start/end logits per feature, run in padded batches of similar lengths."""
        input_ids = encoding["input_ids"]
        token_type_ids = encoding.get("token_type_ids")
        pad_id = self._tokenizer.pad_token_id or 0
        starts: list[np.ndarray] = [np.empty(0)] * len(input_ids)
        ends: list[np.ndarray] = [np.empty(0)] * len(input_ids)
        order = sorted(range(len(input_ids)), key=lambda i: len(input_ids[i]))
        # A model handed over by training keeps fp32 weights: run it under autocast instead.
        autocast = self.bf16 and self._model.dtype == torch.float32
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            for first in range(0, len(order), self.batch_size):
                batch = order[first : first + self.batch_size]
                width = max(len(input_ids[i]) for i in batch)
                ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                types = torch.zeros((len(batch), width), dtype=torch.long)
                for row, feature in enumerate(batch):
                    length = len(input_ids[feature])
                    ids[row, :length] = torch.tensor(input_ids[feature])
                    mask[row, :length] = 1
                    if token_type_ids is not None:
                        types[row, :length] = torch.tensor(token_type_ids[feature])
                inputs = {"input_ids": ids, "attention_mask": mask}
                if token_type_ids is not None:
                    inputs["token_type_ids"] = types
                output = self._model(**inputs)
                for row, feature in enumerate(batch):
                    length = len(input_ids[feature])
                    starts[feature] = output.start_logits[row, :length].float().numpy()
                    ends[feature] = output.end_logits[row, :length].float().numpy()
        return starts, ends
