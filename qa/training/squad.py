"""SQuAD-format data (v1.1 and v2.0, ``.json`` or ``.json.gz``) and the official EM/F1 metrics.

The metric code follows the official SQuAD 2.0 evaluation script: answers are normalised (lower
case, no punctuation, no articles, single spaces); a question without gold answers counts as correct
only when the prediction is empty; each question takes its best score over the gold answers.
"""

from __future__ import annotations

import collections
import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

from qa.errors import DataError
from qa.paths import SHARED_DIR
from qa.text import normalize_answer

SQUAD1_TRAIN = SHARED_DIR / "data" / "squad1_train.json.gz"


@dataclass(frozen=True)
class Question:
    """One SQuAD question with its paragraph; ``answers`` is empty for an unanswerable one.

    An unanswerable question may carry the span a reader would be tempted by (SQuAD 2.0's first
    ``plausible_answers``), and a ``category`` (how a generated one was made, see
    ``qa.training.unanswerable``).
    """

    id: str
    question: str
    context: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]
    article: str
    plausible_answer: str = ""
    plausible_start: int | None = None
    category: str = ""
    turn: int | None = None  # the question's place in its conversation (CoQA's coqa_turn_id)
    # The earlier turns a generated follow-up is read with ((question, answer), oldest first), and
    # the question a generated one was made from (``qa.training.conversations``, ``.unanswerable``).
    history: tuple[tuple[str, str], ...] = ()
    source_id: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class Article:
    """A SQuAD article: its title and paragraphs, each paragraph with its questions."""

    title: str
    paragraphs: tuple[tuple[str, tuple[Question, ...]], ...]


def load_articles(path: str | Path) -> list[Article]:
    """Read a SQuAD v1.1/v2.0 file, gzipped or not; DataError when it is missing or malformed."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            return _articles(json.load(handle))
    except (EOFError, zlib.error):  # a gzip file cut short
        raise DataError(f"{path} is truncated: the file ends before its data does") from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path} is not a SQuAD-format file ({error.__class__.__name__}: {error})") from None


def _articles(data: dict) -> list[Article]:
    articles = []
    for article in data["data"]:
        title = article.get("title", "")
        paragraphs = []
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            questions = tuple(_question(qa, context, title) for qa in paragraph["qas"])
            paragraphs.append((context, questions))
        articles.append(Article(title, tuple(paragraphs)))
    return articles


def _question(qa: dict, context: str, title: str) -> Question:
    impossible = bool(qa.get("is_impossible"))
    answers = [] if impossible else qa["answers"]
    plausible = qa.get("plausible_answers") or [{}]
    return Question(
        id=qa["id"],
        question=qa["question"],
        context=context,
        answers=tuple(a["text"] for a in answers),
        answer_starts=tuple(a["answer_start"] for a in answers),
        article=title,
        plausible_answer=plausible[0].get("text", ""),
        plausible_start=plausible[0].get("answer_start"),
        category=qa.get("category", ""),
        turn=qa.get("coqa_turn_id"),
        history=tuple((turn[0], turn[1]) for turn in qa.get("history", ())),
        source_id=qa.get("source_id", ""),
    )


def reader_input(question: Question) -> str:
    """What the reader reads for ``question``: with its ``history``, as the runtime reads a
    follow-up (``qa.follow_ups.reader_question``)."""
    from qa.follow_ups import Turn, reader_question

    return reader_question(question.question, [Turn(q, a) for q, a in question.history])


def with_gold_history(questions: list[Question], turns: int) -> list[Question]:
    """Each question of a conversation file (CoQA) with the previous ``turns`` questions of its
    story and their first gold answers as its history, as a chat would have shown them."""
    from dataclasses import replace

    by_story: dict[str, list[Question]] = {}
    for question in questions:
        by_story.setdefault(question.context, []).append(question)
    out = []
    for story in by_story.values():
        story = sorted(story, key=lambda q: q.turn or 0)
        for number, question in enumerate(story):
            earlier = story[max(0, number - turns) : number]
            out.append(replace(question, history=tuple((q.question, q.answers[0]) for q in earlier if q.answers)))
    return out


def load_questions(path: str | Path) -> list[Question]:
    """Every question of a SQuAD file, in file order."""
    return [q for article in load_articles(path) for _, qs in article.paragraphs for q in qs]


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        # An empty side scores 1 only when both are empty (the no-answer case).
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def question_scores(question: Question, prediction: str) -> tuple[float, float]:
    """(EM, F1) of one prediction, each in [0, 1]."""
    golds = [a for a in question.answers if normalize_answer(a)] or [""]
    return (
        max(exact_match(prediction, g) for g in golds),
        max(f1_score(prediction, g) for g in golds),
    )


@dataclass(frozen=True)
class Scores:
    """EM/F1 in percent, overall and split into answerable (HasAns) and unanswerable (NoAns)."""

    exact: float
    f1: float
    total: int
    has_ans_exact: float | None
    has_ans_f1: float | None
    has_ans_total: int
    no_ans_exact: float | None
    no_ans_total: int

    def summary(self) -> str:
        parts = [f"EM {self.exact:.2f}  F1 {self.f1:.2f}  (n={self.total})"]
        if self.has_ans_total:
            parts.append(
                f"HasAns EM {self.has_ans_exact:.2f}  F1 {self.has_ans_f1:.2f}  (n={self.has_ans_total})"
            )
        if self.no_ans_total:
            parts.append(f"NoAns accuracy {self.no_ans_exact:.2f}  (n={self.no_ans_total})")
        return "\n".join(parts)


def score_predictions(questions: list[Question], predictions: dict[str, str]) -> Scores:
    """Official SQuAD 2.0 aggregate over ``questions``; a missing prediction counts as ""."""

    def mean(values: list[float]) -> float | None:
        return 100.0 * sum(values) / len(values) if values else None

    em: dict[bool, list[float]] = {True: [], False: []}
    f1: dict[bool, list[float]] = {True: [], False: []}
    for question in questions:
        q_em, q_f1 = question_scores(question, predictions.get(question.id, ""))
        em[question.answerable].append(q_em)
        f1[question.answerable].append(q_f1)
    all_em, all_f1 = em[True] + em[False], f1[True] + f1[False]
    return Scores(
        exact=mean(all_em) or 0.0,
        f1=mean(all_f1) or 0.0,
        total=len(all_em),
        has_ans_exact=mean(em[True]),
        has_ans_f1=mean(f1[True]),
        has_ans_total=len(em[True]),
        no_ans_exact=mean(em[False]),
        no_ans_total=len(em[False]),
    )
