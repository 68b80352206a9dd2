"""What the reader trains on: each question cut into the windows the chatbot reads (1-4 consecutive
sentences of its paragraph), read as the runtime reads it in a chat, tokenized into features with
span labels, batched by length.

A window holding the answer is a positive; a window of the same paragraph without it, the nearest
window of another paragraph of the article, and every window of an unanswerable question teach
"no answer" (the [CLS] position).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from qa.chunking import Sentence, split_sentences, window
from qa.follow_ups import HISTORY_TURNS, Turn, reader_question
from qa.reader import ReaderSettings
from qa.training.squad import Question, reader_input

MAX_WINDOW_SENTENCES = 4


@dataclass(frozen=True)
class TrainingWindow:
    """One (question, window) pair; ``answer_start`` is relative to ``text``, None for no answer."""

    question: str
    text: str
    answer_start: int | None
    answer_text: str


def _sentence_at(sentences: list[Sentence], offset: int) -> int:
    """Index of the sentence holding character ``offset`` (or the next one, in between)."""
    for index, sentence in enumerate(sentences):
        if offset < sentence.end:
            return index
    return len(sentences) - 1


_WORD = re.compile(r"\w+")


def _content_words(text: str) -> set[str]:
    """Lower-cased words of four letters or more: a crude but stopword-free bag for overlap."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 4}


def _nearest_other_paragraph_window(
    q: Question,
    paragraphs: list[str],
    split,
    rng: random.Random,
    candidates: int = 8,
) -> str | None:
    """A 1-4 sentence window of another paragraph of ``q``'s article (up to ``candidates`` of them,
    drawn at random), holding the sentence that shares most words with the question and none of
    the answer texts; None if there is none."""
    others = [p for p in paragraphs if p != q.context]
    if not others:
        return None
    question_words = _content_words(q.question)
    best: tuple[int, str, list[Sentence], int] | None = None
    for paragraph in rng.sample(others, min(candidates, len(others))):
        sentences = split(paragraph)
        for index, sentence in enumerate(sentences):
            overlap = len(question_words & _content_words(sentence.text))
            if best is None or overlap > best[0]:
                best = (overlap, paragraph, sentences, index)
    if best is None:
        return None
    _, paragraph, sentences, index = best
    size = rng.randint(1, min(MAX_WINDOW_SENTENCES, len(sentences)))
    first = rng.randint(max(0, index - size + 1), min(index, len(sentences) - size))
    text = window(paragraph, sentences, first, first + size - 1).text
    if any(answer in text for answer in q.answers):
        return None
    return text


def conversation_inputs(
    questions: list[Question], rng: random.Random, history_rate: float, unrelated_history_rate: float
) -> list[str]:
    """The reader's input for each question, as a chat would give it (``reader_question``): a
    generated follow-up with its own history; another question, for ``history_rate`` of them, after
    the earlier answered questions of its paragraph, or for ``unrelated_history_rate`` after a turn
    of another article (a topic switch, which must change nothing).

    >>> a = Question("a", "Who sang it?", "p", ("Ann",), (0,), "x")
    >>> b = Question("b", "When did she sing it?", "p", ("1990",), (5,), "x")
    >>> conversation_inputs([a, b], random.Random(0), 1.0, 0.0)
    ['Who sang it?', 'When did she sing it? || Who sang it? Ann']
    """
    pool = [q for q in questions if q.answerable and not q.history]
    earlier: dict[str, list[Turn]] = {}
    inputs = []
    for q in questions:
        if q.history:
            inputs.append(reader_input(q))
            continue
        paragraph = earlier.setdefault(q.context, [])
        draw = rng.random()
        if draw < history_rate:
            turns = paragraph[-HISTORY_TURNS:]
        elif draw < history_rate + unrelated_history_rate and pool:
            other = rng.choice(pool)
            turns = [Turn(other.question, other.answers[0])] if other.article != q.article else []
        else:
            turns = []
        inputs.append(reader_question(q.question, turns))
        if q.answerable:
            paragraph.append(Turn(q.question, q.answers[0]))
    return inputs


def training_windows(
    questions: list[Question],
    rng: random.Random,
    negative_rate: float,
    other_paragraph_negative_rate: float = 0.0,
    inputs: list[str] | None = None,
) -> list[TrainingWindow]:
    """Cut each question's paragraph into the windows that teach span and no-answer; ``inputs``
    are what the reader reads for each question (default: the questions as asked)."""
    windows: list[TrainingWindow] = []
    sentences_by_context: dict[str, list[Sentence]] = {}

    def split(context: str) -> list[Sentence]:
        if context not in sentences_by_context:
            sentences_by_context[context] = split_sentences(context)
        return sentences_by_context[context]

    paragraphs_by_article: dict[str, list[str]] = {}
    for q in questions:
        paragraphs = paragraphs_by_article.setdefault(q.article, [])
        if not paragraphs or paragraphs[-1] != q.context:
            paragraphs.append(q.context)
    inputs = inputs or [q.question for q in questions]
    for q, asked in tqdm(zip(questions, inputs), total=len(questions), desc="windows", unit="q", mininterval=5):
        context = q.context
        sentences = split(context)
        n = len(sentences)
        if n == 0:
            continue
        if not q.answerable:
            size = rng.randint(1, min(MAX_WINDOW_SENTENCES, n))
            if q.plausible_start is None:
                first = rng.randint(0, n - size)
            else:
                # The window around the span a reader would be tempted by: the near miss to refuse.
                near = _sentence_at(sentences, q.plausible_start)
                first = rng.randint(max(0, near - size + 1), min(near, n - size))
            cut = window(context, sentences, first, first + size - 1)
            windows.append(TrainingWindow(asked, cut.text, None, ""))
            continue
        answer, start = q.answers[0], q.answer_starts[0]
        first_needed = _sentence_at(sentences, start)
        last_needed = max(_sentence_at(sentences, start + len(answer) - 1), first_needed)
        size = max(rng.randint(1, MAX_WINDOW_SENTENCES), last_needed - first_needed + 1)
        size = min(size, n)
        first = rng.randint(max(0, last_needed - size + 1), min(first_needed, n - size))
        cut = window(context, sentences, first, first + size - 1)
        if cut.start <= start and start + len(answer) <= cut.end:
            windows.append(TrainingWindow(asked, cut.text, start - cut.start, answer))
        if n > 1 and rng.random() < negative_rate:
            size = rng.randint(1, min(MAX_WINDOW_SENTENCES, n - 1))
            # Any occurrence of the answer text counts as the answer (about 2% of SQuAD 1.1 train
            # offsets point at another occurrence), so a negative must hold none.
            candidates = [
                cut
                for first in range(n - size + 1)
                if answer not in (cut := window(context, sentences, first, first + size - 1)).text
            ]
            if candidates:
                negative = rng.choice(candidates)
                windows.append(TrainingWindow(asked, negative.text, None, ""))
        if rng.random() < other_paragraph_negative_rate:
            text = _nearest_other_paragraph_window(q, paragraphs_by_article[q.article], split, rng)
            if text is not None:
                windows.append(TrainingWindow(asked, text, None, ""))
    return windows


def fit_questions(questions: list[str], tokenizer, limit: int) -> list[str]:
    """Each question cut to its first ``limit`` tokens, as ``Reader.fit_question`` cuts it at run
    time (a follow-up's history is what goes)."""
    offsets = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    return [q if len(o) <= limit else q[: o[limit - 1][1]].rstrip() for q, o in zip(questions, offsets)]


def tokenize_windows(windows: list[TrainingWindow], tokenizer, max_seq_len: int, doc_stride: int) -> list[dict]:
    """Features with start/end token labels; a stride (``doc_stride``) cuts windows longer than ``max_seq_len``."""
    features: list[dict] = []
    batch = 2000
    limit = ReaderSettings().max_question_tokens
    for first in tqdm(range(0, len(windows), batch), desc="tokenizing", unit="batch", mininterval=5):
        part = windows[first : first + batch]
        encoding = tokenizer(
            fit_questions([w.question for w in part], tokenizer, limit),
            [w.text for w in part],
            truncation="only_second",
            max_length=max_seq_len,
            stride=doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        for feature, source in enumerate(encoding["overflow_to_sample_mapping"]):
            item = part[source]
            offsets = encoding["offset_mapping"][feature]
            sequence_ids = encoding.sequence_ids(feature)
            start_token = end_token = 0
            if item.answer_start is not None:
                answer_end = item.answer_start + len(item.answer_text)
                context_tokens = [i for i, s in enumerate(sequence_ids) if s == 1]
                if (
                    offsets[context_tokens[0]][0] <= item.answer_start
                    and offsets[context_tokens[-1]][1] >= answer_end
                ):
                    start_token = next(
                        i for i in context_tokens if offsets[i][1] > item.answer_start
                    )
                    end_token = next(
                        i for i in reversed(context_tokens) if offsets[i][0] < answer_end
                    )
            features.append(
                {
                    "input_ids": encoding["input_ids"][feature],
                    "token_type_ids": encoding["token_type_ids"][feature],
                    "start": start_token,
                    "end": end_token,
                }
            )
    return features


def epoch_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding), the same for the same seed."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for first in range(0, len(order), pool):
        chunk = sorted(order[first : first + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


# Batches are padded to a multiple of this many tokens: a handful of distinct tensor shapes instead of
# one per length keeps oneDNN's per-shape kernel cache (and the process's memory) from growing all run.
PAD_TO_MULTIPLE = 32


def collate(features: list[dict], indices: list[int], pad_id: int) -> dict[str, torch.Tensor]:
    longest = max(len(features[i]["input_ids"]) for i in indices)
    width = -(-longest // PAD_TO_MULTIPLE) * PAD_TO_MULTIPLE
    ids = torch.full((len(indices), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(indices), width), dtype=torch.long)
    mask = torch.zeros((len(indices), width), dtype=torch.long)
    for row, i in enumerate(indices):
        n = len(features[i]["input_ids"])
        ids[row, :n] = torch.tensor(features[i]["input_ids"])
        types[row, :n] = torch.tensor(features[i]["token_type_ids"])
        mask[row, :n] = 1
    return {
        "input_ids": ids,
        "token_type_ids": types,
        "attention_mask": mask,
        "start_positions": torch.tensor([features[i]["start"] for i in indices]),
        "end_positions": torch.tensor([features[i]["end"] for i in indices]),
    }
