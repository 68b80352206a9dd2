"""Reader evaluation on SQuAD-format data, and calibration of the no-answer threshold.

``--gold-paragraph`` mode reads each question against its own paragraph, cut into the same
sentence windows the chatbot reads, and scores with SQuAD 2.0 semantics.
"""

from __future__ import annotations

import json
import logging
import math
import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qa.chunking import sliding_windows, split_sentences
from qa.reader import Reader, Span
from qa.reading import SPANS_KEPT, distinct_spans
from qa.training.squad import Article, Question, Scores, question_scores, reader_input, score_predictions

logger = logging.getLogger(__name__)

# The answer check as gold-paragraph mode asks it: (question, the reader's spans) → chance right.
Judge = Callable[[str, list[Span]], float]

# Windows of three sentences, one shared between neighbours: every answer inside one or two
# adjacent sentences lies whole in some window, as with the chatbot's hit sentence plus neighbours.
GOLD_WINDOW_SENTENCES = 3
GOLD_WINDOW_OVERLAP = 1
# A reply is right when its words overlap a gold answer this much (F1), as the reference scorers count it.
RIGHT_F1 = 0.5
# A reply at this confidence or more that is wrong is "confidently wrong" (the reference scorers' line).
CONFIDENT = 0.9


@dataclass(frozen=True)
class ReaderGuess:
    """The reader's best span for one question, how far it beats "no answer", and the answer
    check's chance that it is right (None: not checked)."""

    text: str
    margin: float
    chance_right: float | None = None


@dataclass(frozen=True)
class Outcome:
    """One question's reply as calibration sees it: the confidence shown, whether it answered, and
    whether the reply given, or for an abstention the best span it declined, is right (for an
    unanswerable question no span is).

    >>> Outcome("q1", 0.95, answered=True, span_right=False).confidently_wrong
    True
    """

    id: str
    confidence: float
    answered: bool
    span_right: bool
    answerable: bool = True

    @property
    def confidently_wrong(self) -> bool:
        return self.answered and not self.span_right and self.confidence >= CONFIDENT


def outcome(question: Question, confidence: float, answered: bool, reply: str) -> Outcome:
    """``question``'s outcome for ``reply`` (the answer given, or the span declined)."""
    right = question.answerable and question_scores(question, reply)[1] >= RIGHT_F1
    return Outcome(question.id, float(confidence), answered, bool(right), question.answerable)


@dataclass(frozen=True)
class Calibration:
    """How far the confidence of a set's replies can be trusted."""

    replies: int
    confidently_wrong: int  # answers given at >= ``CONFIDENT`` that are wrong
    error: float | None  # expected calibration error of the answers given (None: none given)

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> Calibration:
        given = [o for o in outcomes if o.answered]
        error = expected_calibration_error(
            np.asarray([o.confidence for o in given]), np.asarray([o.span_right for o in given])
        ) if given else None
        return cls(len(outcomes), sum(o.confidently_wrong for o in outcomes), error)

    def summary(self) -> str:
        error = "n/a" if self.error is None else f"{self.error:.3f}"
        return (f"replies wrong at >= {CONFIDENT:.0%} confidence: {self.confidently_wrong} of {self.replies}"
                f"  ({100 * self.confidently_wrong / max(self.replies, 1):.1f}%); expected calibration error {error}"
                " (answers given)")


def write_outcomes(path: Path, outcomes: Iterable[Outcome]) -> None:
    """One JSON object per line, as ``read_outcomes`` and ``bench/calibration.py`` read them."""
    with path.open("w", encoding="utf-8") as handle:
        for o in outcomes:
            handle.write(json.dumps(asdict(o), ensure_ascii=False) + "\n")


def read_outcomes(path: Path) -> list[Outcome]:
    with path.open(encoding="utf-8") as handle:
        return [Outcome(**json.loads(line)) for line in handle if line.strip()]


def reliability(outcomes: Sequence[Outcome], bins: int = 10) -> list[tuple[float, float, int]]:
    """The answers given in ``bins`` equal bins of confidence: (mean confidence, share right,
    answers) for each bin that holds any, as a reliability diagram draws them.

    >>> reliability([Outcome("a", 0.95, True, True), Outcome("b", 0.91, True, False), Outcome("c", 0.2, True, False)])
    [(0.2, 0.0, 1), (0.93, 0.5, 2)]
    """
    given = [o for o in outcomes if o.answered]
    confidence = np.asarray([o.confidence for o in given])
    which = np.clip(np.digitize(confidence, np.linspace(0.0, 1.0, bins + 1)[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = [o for o, w in zip(given, which) if w == b]
        if inside:
            rows.append((round(float(np.mean([o.confidence for o in inside])), 6),
                         round(float(np.mean([o.span_right for o in inside])), 6), len(inside)))
    return rows


def risk_coverage(outcomes: Sequence[Outcome]) -> tuple[np.ndarray, np.ndarray]:
    """Coverage (share of questions answered) and the accuracy of the answers given, answering
    the questions in order of confidence, most confident first: the k-th point answers the k most
    confident questions with their best spans.

    >>> coverage, accuracy = risk_coverage([Outcome("a", 0.9, True, True), Outcome("b", 0.1, False, False),
    ...                                     Outcome("c", 0.6, True, False)])
    >>> coverage.round(2).tolist(), accuracy.round(2).tolist()
    ([0.33, 0.67, 1.0], [1.0, 0.5, 0.33])
    """
    ranked = sorted(outcomes, key=lambda o: -o.confidence)
    right = np.cumsum([o.span_right for o in ranked])
    answered = np.arange(1, len(ranked) + 1)
    return answered / len(ranked), right / answered


@dataclass(frozen=True)
class GoldParagraphReport:
    scores: Scores
    predictions: dict[str, str]
    threshold: float  # on the reader's margin, or with the answer check on its probability
    questions_per_second: float
    outcomes: tuple[Outcome, ...] = ()

    def calibration(self) -> str:
        return Calibration.of(self.outcomes).summary()


def expected_calibration_error(probability: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """The share-weighted gap between confidence and the share right, over ``bins`` equal bins.

    >>> round(expected_calibration_error(np.array([0.9, 0.9, 0.1, 0.1]), np.array([1, 1, 0, 1])), 3)
    0.25
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += inside.mean() * abs(probability[inside].mean() - right[inside].mean())
    return float(gap)


def paragraph_windows(context: str) -> list[str]:
    """The sentence windows of a paragraph, as the reader sees them."""
    sentences = split_sentences(context)
    windows = sliding_windows(context, sentences, GOLD_WINDOW_SENTENCES, GOLD_WINDOW_OVERLAP)
    return [w.text for w in windows] or [context]


def guess_gold_paragraph(
    reader: Reader, questions: Iterable[Question], progress: bool = True, judge: Judge | None = None,
) -> dict[str, ReaderGuess]:
    """Best span and margin per question id, reading each question in its own paragraph; with
    ``judge(question, spans)``, the answer check's chance that it is right.

    The questions of one paragraph are read together, in shared batches.
    """
    by_context: dict[str, list[Question]] = {}
    for question in questions:
        by_context.setdefault(question.context, []).append(question)
    guesses: dict[str, ReaderGuess] = {}
    total = sum(len(qs) for qs in by_context.values())
    with tqdm(total=total, desc="reading", unit="q", disable=not progress, mininterval=2) as bar:
        for context, paragraph_questions in by_context.items():
            windows = paragraph_windows(context)
            readings = reader.read_many([(reader_input(q), windows) for q in paragraph_questions], top_k=SPANS_KEPT)
            for question, spans in zip(paragraph_questions, readings):
                best = distinct_spans(spans)[0] if spans else None
                chance = judge(reader_input(question), spans) if judge and spans else None
                guesses[question.id] = (
                    ReaderGuess(best.text, best.margin, chance) if best else ReaderGuess("", float("-inf"), 0.0 if judge else None)
                )
            bar.update(len(paragraph_questions))
    return guesses


def question_groups(articles: list[Article]) -> dict[str, list[Question]]:
    """The questions of the even- and odd-numbered articles (counting from 0; the no-answer threshold
    is tuned on the odd ones, so the even ones are held out), and of each generator category.

    Nothing for a file of one article without categories: the summary of all says it all.
    """
    groups: dict[str, list[Question]] = {}
    if len(articles) > 1:
        for parity, name in ((0, "even-numbered articles (held out from calibration)"), (1, "odd-numbered articles")):
            groups[name] = [
                q for number, a in enumerate(articles) if number % 2 == parity for _, qs in a.paragraphs for q in qs
            ]
    for question in (q for a in articles for _, qs in a.paragraphs for q in qs):
        if question.category:
            groups.setdefault(f"category {question.category}", []).append(question)
    return groups


def predictions_at(guesses: dict[str, ReaderGuess], threshold: float) -> dict[str, str]:
    """Official-format predictions: the span, or "" where its margin doesn't beat ``threshold``."""
    return {qid: g.text if g.margin > threshold else "" for qid, g in guesses.items()}


@dataclass(frozen=True)
class _Outcome:
    """What answering or abstaining on one question is worth."""

    margin: float
    answerable: bool
    f1_if_answered: float
    f1_if_abstained: float


def _outcomes(questions: list[Question], guesses: dict[str, ReaderGuess]) -> list[_Outcome]:
    return [
        _Outcome(
            margin=guesses[q.id].margin,
            answerable=q.answerable,
            f1_if_answered=question_scores(q, guesses[q.id].text)[1],
            f1_if_abstained=question_scores(q, "")[1],
        )
        for q in questions
    ]


def _sweep(outcomes: list[_Outcome], unanswerable_share: float | None) -> float:
    """The F1-maximising threshold: sweeps the margins in decreasing order, each step turning one
    more question from "" into its span."""
    answerable = sum(o.answerable for o in outcomes)
    weight = {True: 1.0, False: 1.0}
    if unanswerable_share is not None and 0 < answerable < len(outcomes):
        weight = {
            True: (1 - unanswerable_share) / answerable,
            False: unanswerable_share / (len(outcomes) - answerable),
        }
    ordered = sorted(outcomes, key=lambda o: o.margin, reverse=True)
    # Abstaining on everything is the starting point: a threshold above every margin.
    total = best_total = sum(weight[o.answerable] * o.f1_if_abstained for o in outcomes)
    best = ordered[0].margin + 1.0 if ordered else 0.0
    for index, outcome in enumerate(ordered):
        total += weight[outcome.answerable] * (outcome.f1_if_answered - outcome.f1_if_abstained)
        next_margin = ordered[index + 1].margin if index + 1 < len(ordered) else None
        if next_margin is not None and next_margin == outcome.margin:
            continue  # ties move together
        if total > best_total:
            best_total = total
            # Midway to the next margin, so that the question just admitted stays above it.
            best = (outcome.margin + next_margin) / 2 if next_margin is not None else outcome.margin - 1.0
    return float(best)


def best_threshold(
    questions: list[Question], guesses: dict[str, ReaderGuess], unanswerable_share: float | None = None
) -> float:
    """The no-answer threshold that maximises overall F1 (the official ``find_best_thresh``).

    With ``unanswerable_share``, the unanswerable questions are weighted to make up that share of
    the total, answerable ones the rest: F1 under the mix of questions users are expected to ask,
    rather than the mix a dataset happens to have (SQuAD 2.0 dev is half unanswerable).

    >>> q = [Question("a", "?", "x", ("y",), (0,), ""), Question("b", "?", "x", (), (), "")]
    >>> best_threshold(q, {"a": ReaderGuess("y", 2.0), "b": ReaderGuess("z", 1.0)})
    1.5
    """
    return _sweep(_outcomes(questions, guesses), unanswerable_share)


def bootstrapped_threshold(
    questions: list[Question],
    guesses: dict[str, ReaderGuess],
    unanswerable_share: float | None = None,
    resamples: int = 200,
    seed: int = 13,
) -> float:
    """The median of ``best_threshold`` over bootstrap resamples of ``questions``.

    F1 is nearly flat over a wide range of thresholds (weighted to 10% unanswerable, SQuAD 2.0 dev
    varies by 0.25 points between -8 and -3), so the single best threshold jumps with any small
    change in the margins: re-embedding the articles in bf16 moved it from -4.9 to -3.2. The
    median over resamples stays in the middle of that plateau.
    """
    outcomes = _outcomes(questions, guesses)
    rng = random.Random(seed)
    return statistics.median(
        _sweep(rng.choices(outcomes, k=len(outcomes)), unanswerable_share) for _ in range(resamples)
    )


def evaluate_gold_paragraph(
    reader: Reader,
    questions: list[Question],
    threshold: float | None = None,
    progress: bool = True,
) -> GoldParagraphReport:
    """Score ``reader`` on ``questions``; ``threshold`` defaults to the reader's calibrated one."""
    began = time.perf_counter()
    guesses = guess_gold_paragraph(reader, questions, progress=progress)
    seconds = time.perf_counter() - began
    return gold_paragraph_report(questions, guesses, reader.settings.no_answer_threshold if threshold is None else threshold, seconds)


def gold_paragraph_report(
    questions: list[Question], guesses: dict[str, ReaderGuess], threshold: float, seconds: float,
    checked: bool = False, reader_threshold: float = float("-inf"),
) -> GoldParagraphReport:
    """The scores of ``guesses``: a span answers when its margin beats ``threshold`` (its
    confidence: the margin squashed there), or, ``checked``, when the answer check's chance that
    it is right reaches ``threshold`` (its confidence: that chance) and its margin beats
    ``reader_threshold``, as the chatbot answers (``qa.pipeline.answer_from``)."""
    if checked:
        confidence = {qid: guess.chance_right for qid, guess in guesses.items()}
        predictions = {qid: guess.text if guess.chance_right >= threshold and guess.margin > reader_threshold else ""
                       for qid, guess in guesses.items()}
    else:
        confidence = {qid: 1 / (1 + math.exp(min(threshold - guess.margin, 700))) for qid, guess in guesses.items()}
        predictions = predictions_at(guesses, threshold)
    outcomes = tuple(
        outcome(q, confidence[q.id], bool(predictions[q.id]), guesses[q.id].text if q.id in guesses else "") for q in questions
    )
    return GoldParagraphReport(
        scores=score_predictions(questions, predictions),
        predictions=predictions,
        threshold=threshold,
        questions_per_second=len(questions) / seconds if seconds > 0 else float("inf"),
        outcomes=outcomes,
    )
