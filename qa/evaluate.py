"""Reader evaluation on SQuAD-format data, and calibration of the no-answer threshold.

``--gold-paragraph`` mode reads each question against its own paragraph, cut into the same
sentence windows the chatbot reads, and scores with SQuAD 2.0 semantics.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from tqdm import tqdm

from qa.chunking import split_sentences, sliding_windows
from qa.reader import Reader
from qa.squad import Question, Scores, question_scores, score_predictions

# Windows of three sentences, one shared between neighbours: every answer inside one or two
# adjacent sentences lies whole in some window, as with the chatbot's hit sentence plus neighbours.
GOLD_WINDOW_SENTENCES = 3
GOLD_WINDOW_OVERLAP = 1


@dataclass(frozen=True)
class ReaderGuess:
    """The reader's best span for one question and how far it beats "no answer"."""

    text: str
    margin: float


@dataclass(frozen=True)
class GoldParagraphReport:
    scores: Scores
    predictions: dict[str, str]
    threshold: float
    questions_per_second: float


def paragraph_windows(context: str) -> list[str]:
    """The sentence windows of a paragraph, as the reader sees them."""
    sentences = split_sentences(context)
    windows = sliding_windows(context, sentences, GOLD_WINDOW_SENTENCES, GOLD_WINDOW_OVERLAP)
    return [w.text for w in windows] or [context]


def guess_gold_paragraph(
    reader: Reader, questions: Iterable[Question], progress: bool = True
) -> dict[str, ReaderGuess]:
    """Best span and margin per question id, reading each question in its own paragraph."""
    questions = list(questions)
    windows_by_context: dict[str, list[str]] = {}
    guesses: dict[str, ReaderGuess] = {}
    for question in tqdm(questions, desc="reading", unit="q", disable=not progress, mininterval=2):
        if question.context not in windows_by_context:
            windows_by_context[question.context] = paragraph_windows(question.context)
        spans = reader.read(question.question, windows_by_context[question.context], top_k=1)
        guesses[question.id] = (
            ReaderGuess(spans[0].text, spans[0].margin) if spans else ReaderGuess("", float("-inf"))
        )
    return guesses


def predictions_at(guesses: dict[str, ReaderGuess], threshold: float) -> dict[str, str]:
    """Official-format predictions: the span, or "" where its margin doesn't beat ``threshold``."""
    return {qid: g.text if g.margin > threshold else "" for qid, g in guesses.items()}


def best_threshold(questions: list[Question], guesses: dict[str, ReaderGuess]) -> float:
    """The no-answer threshold that maximises overall F1 (the official ``find_best_thresh``).

    Sweeps the margins in decreasing order: each step turns one more question from "" into its span.
    """
    f1_if_answered: dict[str, float] = {}
    f1_if_abstained: dict[str, float] = {}
    for question in questions:
        guess = guesses[question.id]
        f1_if_answered[question.id] = question_scores(question, guess.text)[1]
        f1_if_abstained[question.id] = question_scores(question, "")[1]
    ordered = sorted(questions, key=lambda q: guesses[q.id].margin, reverse=True)
    total = sum(f1_if_abstained.values())
    # Abstaining on everything is the starting point: a threshold above every margin.
    best_total = total
    best = guesses[ordered[0].id].margin + 1.0 if ordered else 0.0
    for index, question in enumerate(ordered):
        total += f1_if_answered[question.id] - f1_if_abstained[question.id]
        next_margin = guesses[ordered[index + 1].id].margin if index + 1 < len(ordered) else None
        if next_margin is not None and next_margin == guesses[question.id].margin:
            continue  # ties move together
        if total > best_total:
            best_total = total
            # Midway to the next margin, so that the question just admitted stays above it.
            margin = guesses[question.id].margin
            best = (margin + next_margin) / 2 if next_margin is not None else margin - 1.0
    return float(best)


def evaluate_gold_paragraph(
    reader: Reader,
    questions: list[Question],
    threshold: float | None = None,
    progress: bool = True,
) -> GoldParagraphReport:
    """Score ``reader`` on ``questions``; ``threshold`` defaults to the reader's calibrated one."""
    began = time.perf_counter()
    guesses = guess_gold_paragraph(reader, questions, progress=progress)
    elapsed = time.perf_counter() - began
    if threshold is None:
        threshold = reader.settings.no_answer_threshold
    predictions = predictions_at(guesses, threshold)
    return GoldParagraphReport(
        scores=score_predictions(questions, predictions),
        predictions=predictions,
        threshold=threshold,
        questions_per_second=len(questions) / elapsed if elapsed > 0 else float("inf"),
    )
