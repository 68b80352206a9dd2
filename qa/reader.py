"""Extractive reader: finds the answer span of a question in one or more contexts.

The constructor is cheap; the model loads once, on the first ``read()``. Scores are raw span logits
(start + end), not a softmax inside each window, so spans from different contexts compare directly.

>>> reader = Reader()
>>> sentence = "INDUS-X is focused on advancing high-tech cooperation."
>>> span = reader.read("What is INDUS-X focused on?", [sentence])[0]
>>> span.text, sentence[span.start:span.end] == span.text
('advancing high-tech cooperation', True)
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.backends import (
    TORCH,
    ReaderModel,
    TorchReaderModel,
    cpu_has_native_bf16,
    default_reader_backend,
    is_torch,
    pad_batch,
    reader_model,
)
from qa.batching import MicroBatcher
from qa.decoding import clean_boundaries, decode_spans

logger = logging.getLogger(__name__)

DEFAULT_READER_DIR = Path(__file__).parent / "models" / "minilm-l6-squad-reader"
READER_SETTINGS_FILE = "qa_reader.json"
# Questions read together at most, when several threads ask at once (qa.batching).
MAX_BATCHED_QUESTIONS = 8


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
    # The top hit is read alone first, and answers alone when its best span clears the no-answer
    # threshold by this much; otherwise the other hits are read too. Chosen with the threshold on
    # the calibration articles (the odd-numbered squad2_dev_a ones, 2,948 questions) as the smallest
    # margin, in steps of 2, at which F1 is no lower than reading every hit: 40.2 against 40.1 (66.8
    # against 66.5 with unanswerable questions weighted to 10%), 65% of questions stopping early.
    # At 4: F1 39.9, 73%.
    early_answer_margin: float = 6.0
    # Earlier answered turns a follow-up is read with (``qa.follow_ups.reader_question``): what
    # the model was trained on; 0 for a reader trained on questions alone.
    history_turns: int = 0

    def __post_init__(self) -> None:
        if self.early_answer_margin < 0:
            # Below the threshold, stopping early would abstain without reading every hit.
            raise ValueError(f"early_answer_margin must be >= 0, not {self.early_answer_margin}")
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

    ``score`` is the span's start + end logit; ``no_answer_score`` is its context's no-answer logit
    (the lowest [CLS] score over that context's windows), so ``margin``, ``score - no_answer_score``,
    compares with the reader's ``no_answer_threshold``. Spans of different contexts compare by
    margin, not score: how far a span beats its own context's "no answer" says more than its raw
    logits, which pass to pass run higher or lower as a whole (nyt_news_dev asked of 19k articles,
    10 hits each read alone: the answer chosen by margin is right for F1 68.9, by score 65.6).
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

    ``backend`` is how the model runs (``qa.backends.BACKENDS``): ``"onnx-int8"``, ``"torch"`` (bf16
    where the CPU has it natively), ``"torch-fp32"`` or ``"onnx-fp32"``; None, the default, is
    ``qa.backends.default_backend()`` (torch for a model directory without that ONNX graph).
    ``batch_size`` (windows per model call) defaults to the backend's ``rows_per_run``. Tokenising,
    batching and span decoding are the same on every backend.
    """

    def __init__(
        self,
        model_dir: str | Path = DEFAULT_READER_DIR,
        *,
        batch_size: int | None = None,
        settings: ReaderSettings | None = None,
        backend: str | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.backend = backend or default_reader_backend(self.model_dir)
        self._settings = settings
        self._model: ReaderModel | None = None
        self._pair_tokenizer = None
        self._tokenizer = None
        self._lock = threading.Lock()
        self._batcher = MicroBatcher(self._read_batch, MAX_BATCHED_QUESTIONS, name="reader")

    @classmethod
    def from_model(cls, model, tokenizer, settings: ReaderSettings, batch_size: int | None = None) -> Reader:
        """Wrap a torch model and its Hugging Face tokenizer already in memory (training evaluates
        its checkpoints this way), run under bf16 autocast where the CPU has bf16 natively."""
        reader = cls(batch_size=batch_size, settings=settings, backend=TORCH)
        reader._use(TorchReaderModel.wrapping(model, bf16=cpu_has_native_bf16()), tokenizer.backend_tokenizer)
        return reader

    @classmethod
    def with_model(cls, model: ReaderModel, tokenizer, settings: ReaderSettings | None = None) -> Reader:
        """A reader over any ``ReaderModel`` (a fake in tests, another backend) and a
        ``tokenizers.Tokenizer``; the settings default to the shipped reader's."""
        reader = cls(settings=settings)
        reader._use(model, tokenizer)
        return reader

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (it loads on the first read, or ``load()``)."""
        return self._model is not None

    @property
    def settings(self) -> ReaderSettings:
        if self._settings is None:
            self._settings = ReaderSettings.load(self.model_dir)
        return self._settings

    @property
    def precision(self) -> str:
        """"bf16", "fp32" or "int8": how the model's arithmetic runs (margins move with it)."""
        if is_torch(self.backend):
            if self._model is None:
                self.load()
            return "bf16" if self._model.bf16 else "fp32"
        return self.backend.removeprefix("onnx-")

    def load(self) -> None:
        """Load the model now (it otherwise loads on the first read); idempotent."""
        with self._lock:
            if self._model is not None:
                return
            from tokenizers import Tokenizer

            logger.info("loading reader (%s) from %s", self.backend, self.model_dir)
            tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            self._use(reader_model(self.backend, self.model_dir), tokenizer)

    def _use(self, model: ReaderModel, tokenizer) -> None:
        """Keep ``model`` and two copies of the ``tokenizers.Tokenizer``: one cutting (question,
        context) pairs into overlapping windows, one plain for questions alone."""
        from tokenizers import Tokenizer

        settings = self.settings
        pairs = Tokenizer.from_str(tokenizer.to_str())
        pairs.enable_truncation(settings.max_seq_len, stride=settings.doc_stride, strategy="only_second")
        pairs.no_padding()
        plain = Tokenizer.from_str(tokenizer.to_str())
        plain.no_truncation()
        plain.no_padding()
        self._pair_tokenizer, self._tokenizer, self._model = pairs, plain, model

    def fit_question(self, question: str) -> str:
        """``question`` itself, or its longest prefix of whole tokens that the reader can take
        (``settings.max_question_tokens``); whitespace at the cut is dropped."""
        limit = self.settings.max_question_tokens
        # A token is at least one character: a question this short always fits.
        if len(question) <= limit:
            return question
        if self._model is None:
            self.load()
        offsets = self._tokenizer.encode(question, add_special_tokens=False).offsets
        if len(offsets) <= limit:
            return question
        return question[: offsets[limit - 1][1]].rstrip()

    def is_answer(self, span: Span) -> bool:
        """True when the span beats the no-answer score by more than the calibrated threshold."""
        return span.margin > self.settings.no_answer_threshold

    def read(self, question: str, contexts: list[str], top_k: int = 5) -> list[Span]:
        """The ``top_k`` best distinct spans over all ``contexts``, best first.

        Contexts longer than the model's window are read in overlapping strides. Returns [] when
        there is nothing to read. Calls from several threads at once are read together.
        """
        return self._batcher((question, list(contexts), top_k))

    def _read_batch(self, requests: list[tuple[str, list[str], int]]) -> list[list[Span]]:
        most = max(top_k for *_, top_k in requests)
        spans = self.read_many([(question, contexts) for question, contexts, _ in requests], top_k=most)
        return [found[:top_k] for found, (_, _, top_k) in zip(spans, requests)]

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
        # Each pair's windows in order, as transformers' fast tokenizers return them.
        encodings = self._pair_tokenizer.encode_batch([(question, context) for _, question, _, context in pairs])
        features = [
            (pair, window) for pair, encoding in enumerate(encodings) for window in (encoding, *encoding.overflowing)
        ]
        start_logits, end_logits = self._logits([window for _, window in features])

        best: list[dict[tuple[int, int, int], float]] = [{} for _ in requests]
        no_answer: dict[tuple[int, int], float] = {}  # (request, context index) -> its lowest [CLS] score
        for feature, (pair, window) in enumerate(features):
            request, _, context_index, context = pairs[pair]
            word_spans = [
                window.word_to_chars(word, 1) if sequence == 1 else None
                for word, sequence in zip(window.word_ids, window.sequence_ids)
            ]
            spans, no_answer_score = decode_spans(
                start_logits[feature],
                end_logits[feature],
                word_spans,
                top_k_tokens=settings.top_k_tokens,
                max_answer_tokens=settings.max_answer_tokens,
            )
            no_answer[request, context_index] = min(no_answer.get((request, context_index), float("inf")), no_answer_score)
            for (char_start, char_end), score in spans.items():
                clean = clean_boundaries(context, char_start, char_end)
                if clean is None:
                    continue
                key = (context_index, *clean)
                if score > best[request].get(key, float("-inf")):
                    best[request][key] = score
        results = []
        for request, (_, contexts) in enumerate(requests):
            spans = [
                Span(contexts[ci][cs:ce], cs, ce, context_index=ci, score=score, no_answer_score=no_answer[request, ci])
                for (ci, cs, ce), score in best[request].items()
            ]
            results.append(sorted(spans, key=lambda span: span.margin, reverse=True)[:top_k])
        return results

    def _logits(self, windows: list) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Start/end logits per window, run in padded batches of similar lengths."""
        pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        starts: list[np.ndarray] = [np.empty(0)] * len(windows)
        ends: list[np.ndarray] = [np.empty(0)] * len(windows)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].ids))
        batch_size = self.batch_size or self._model.rows_per_run
        for first in range(0, len(order), batch_size):
            batch = order[first : first + batch_size]
            inputs = pad_batch([windows[i].ids for i in batch], [windows[i].type_ids for i in batch], pad_id)
            start, end = self._model.logits(inputs)
            for row, feature in enumerate(batch):
                length = len(windows[feature].ids)
                starts[feature] = start[row, :length]
                ends[feature] = end[row, :length]
        return starts, ends
