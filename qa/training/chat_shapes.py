"""Questions in the shapes people chat in (``qa eval SET --shapes``): yes/no questions and claims,
why, how, "tell me more", quotes, counts and lists, each asked of its article as ``Assistant.ask``
answers it and judged by the set's own rules (``../shared/eval/README.md``), as
``../shared/eval/scorers/chat_shapes.py`` judges them.

The set is ``{"articles": [{"id", "title", "text"}], "questions": [{"id", "article", "kind",
"question", ...gold fields of its kind}]}``.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from qa.answer import Answer
from qa.errors import DataError
from qa.shaped import NO, NOT_STATED, YES
from qa.training.evaluate import CONFIDENT

VERDICT_KINDS = ("polar", "claim")
SPAN_KINDS = ("why", "how", "elaborate", "quote")
# The set's rules: a yes/no reply holds this share of the evidence's words, a "no" this share of the
# correction's; a reason, manner, elaboration or quote this share of a gold answer's, in at most
# MAX_REPLY_WORDS words; a list this share of its items, each item this covered.
EVIDENCE_COVERED = 0.6
CORRECTION_COVERED = 0.7
ANSWER_COVERED = 0.7
MAX_REPLY_WORDS = 80
ITEMS_HELD = 0.8
ITEM_COVERED = 0.7
ARTICLES = frozenset({"a", "an", "the"})


def words(text: str) -> list[str]:
    """Lower-cased words without punctuation or a / an / the, as the set's rules count them.

    >>> words("The U.S. said: 'no'")
    ['u', 's', 'said', 'no']
    """
    text = text.lower().replace("\u2019", "'")
    text = "".join(" " if ch in string.punctuation else ch for ch in text)
    return [w for w in text.split() if w not in ARTICLES]


def coverage(gold: str, reply: str) -> float:
    """The share of ``gold``'s words (with their counts) that ``reply`` holds.

    >>> coverage("on Sunday night", "he came on Sunday")
    0.6666666666666666
    """
    wanted, held = Counter(words(gold)), Counter(words(reply))
    total = sum(wanted.values())
    return 1.0 if total == 0 else sum(min(n, held[w]) for w, n in wanted.items()) / total


def said(answer: Answer) -> str:
    """The reply's own words: its text and its citations (not the sentence around a span)."""
    return " ".join(part for part in [answer.text, *(c.text for c in answer.citations)] if part)


def verdict_of(answer: Answer) -> str | None:
    """The verdict a reply gives: ``Answer.verdict``, else a first word "yes" / "no", else "not
    stated" for an abstention; None for a bare span."""
    if answer.verdict:
        return answer.verdict
    first = words(answer.text[:12])
    if first and first[0] in (YES, NO):
        return first[0]
    return None if answer.answerable else NOT_STATED


def judge(question: dict, answer: Answer) -> bool:
    """Whether ``answer`` is right for ``question`` (one of the set's), by the set's rules."""
    kind, reply = question["kind"], said(answer)
    if kind in VERDICT_KINDS:
        verdict = verdict_of(answer)
        evidence_pool = f"{reply} {answer.sentence or ''}"
        if verdict != question["verdict"]:
            return False
        if verdict in (YES, NO) and question.get("evidence") and coverage(question["evidence"], evidence_pool) < EVIDENCE_COVERED:
            return False
        return not (verdict == NO and question.get("correction")
                    and coverage(question["correction"], evidence_pool) < CORRECTION_COVERED)
    abstained = not answer.answerable or verdict_of(answer) == NOT_STATED
    if not (question.get("answerable", True) and (question.get("answers") or question.get("items"))):
        return abstained
    if abstained:
        return False
    if kind in SPAN_KINDS:
        return len(words(reply)) <= MAX_REPLY_WORDS and max(coverage(g, reply) for g in question["answers"]) >= ANSWER_COVERED
    if kind == "count":
        padded = f" {' '.join(words(reply))} "
        return any(f" {' '.join(words(a))} " in padded for a in question["answers"])
    if kind == "list":
        items = question["items"]
        return sum(coverage(item, reply) >= ITEM_COVERED for item in items) >= ITEMS_HELD * len(items)
    raise DataError(f"question {question.get('id')}: unknown kind {kind!r}")


@dataclass(frozen=True)
class ShapesReport:
    right: dict[str, int]  # by kind
    asked: dict[str, int]
    confidently_wrong: int  # wrong replies at a confidence of ``CONFIDENT`` or more
    replies: list[dict]  # each question's id, kind, reply, verdict, confidence and whether right

    def summary(self) -> str:
        lines = [f"{kind:10s} {self.right[kind]:3d}/{self.asked[kind]:3d}  ({100 * self.right[kind] / self.asked[kind]:.0f}%)"
                 for kind in sorted(self.asked)]
        right, asked = sum(self.right.values()), sum(self.asked.values())
        polar = sum(self.right[k] for k in VERDICT_KINDS), sum(self.asked[k] for k in VERDICT_KINDS)
        lines.append(f"chat shapes: {right}/{asked} right ({100 * right / max(asked, 1):.1f}%), yes/no and claims "
                     f"{polar[0]}/{polar[1]}, wrong at >= {CONFIDENT:.0%} confidence {self.confidently_wrong} "
                     f"({100 * self.confidently_wrong / max(asked, 1):.1f}%)")
        return "\n".join(lines)


def load_shapes(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        ids = {article["id"] for article in data["articles"]}
        unknown = [q["id"] for q in data["questions"] if q["article"] not in ids]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path} is not a chat-shapes set ({error.__class__.__name__}: {error})") from None
    if unknown:
        raise DataError(f"{path}: {len(unknown)} questions name an article it does not hold (first: {unknown[0]})")
    return data


def evaluate_shapes(path: Path, assistant, progress: bool = True) -> ShapesReport:
    """Ask every question of ``path``'s set of its own article and judge the replies."""
    data = load_shapes(path)
    documents = {a["id"]: assistant.add_text(a["text"], a.get("title") or a["id"]).id for a in data["articles"]}
    right: Counter = Counter()
    asked: Counter = Counter()
    confidently_wrong, replies = 0, []
    for question in tqdm(data["questions"], desc="asking", unit="q", disable=not progress, mininterval=2):
        answer = assistant.ask(question["question"], document_id=documents[question["article"]])
        ok = judge(question, answer)
        asked[question["kind"]] += 1
        right[question["kind"]] += ok
        confidently_wrong += not ok and answer.score >= CONFIDENT
        replies.append({"id": question["id"], "kind": question["kind"], "question": question["question"], "right": ok,
                        "verdict": verdict_of(answer), "text": answer.text, "score": round(float(answer.score), 3)})
    return ShapesReport(dict(right), dict(asked), confidently_wrong, replies)
