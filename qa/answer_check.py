"""The answer check after the reader: the chance that the reader's best span answers the question,
from what the reading shows about it — how far it beats "no answer" and the next span, whether
other windows found the same words, whether the span is of the kind the question asks for (a number
for "how many", a date for "when", a name for "who"), and its length.

A logistic regression over ``features`` (``qa train-answer-check``, ``qa/training/answer_check.py``)
and an isotonic map of its score onto the share of answers found right on data held apart: the
figure is a probability, and the reply abstains below ``AnswerCheck.threshold`` on it. The runtime
reads the weights and the map from ``qa/models/answer-check/check.json``; no scikit-learn.

>>> asked_kind("How many jobs will be cut?"), asked_kind("Who chairs the party?"), asked_kind("What is it?")
('count', 'person', 'other')
>>> fits("count", "money"), fits("person", "name"), fits("other", "date")
(False, True, None)
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.reader import Span
from qa.text import normalize_answer

CHECK_DIR = Path(__file__).parent / "models" / "answer-check"
CHECK_FILE = "check.json"

# What a question asks for, by its wording (first match wins), and the span kinds that fit each.
_ASKED = [
    ("count", re.compile(r"\bhow many\b|\bwhat (?:number|count)\b|\bnumber of\b", re.I)),
    ("percent", re.compile(r"\b(?:what|which) (?:percentage|percent|share|proportion|rate)\b|\bhow much of\b", re.I)),
    ("amount", re.compile(r"\bhow much\b|\bwhat (?:amount|price|sum|cost|value|budget|salary)\b|\bhow (?:big|large|high|low)\b", re.I)),
    ("duration", re.compile(r"\bhow (?:long|old|far|often|soon)\b|\bwhat age\b", re.I)),
    ("date", re.compile(r"\bwhen\b|\bwhat (?:year|date|day|month|time|decade|century)\b|\bwhich (?:year|date|day|month)\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\b(?:what|which) (?:country|city|state|town|place|region|continent|island|nation|province|county|location|river|area)\b", re.I)),
    ("organisation", re.compile(r"\b(?:what|which) (?:company|firm|organi[sz]ation|group|team|party|agency|bank|club|university|school|newspaper|network|department|ministry|body|club)\b", re.I)),
    ("person", re.compile(r"\bwho(?:m|se)?\b|\b(?:what|which) (?:person|man|woman|player|official|author|actor|leader)\b", re.I)),
]
# The kind of a span, by its words (first match wins). spaCy's NER would tell people from places, but
# loading it imports torch on every answer (thinc), and its kinds got no more weight than these.
_SPAN_KINDS = [
    ("percent", re.compile(r"%|\bper ?cent\b", re.I)),
    ("money", re.compile(r"[$£€¥₹]|\b(?:dollars?|euros?|pounds?|rupees?|yuan|yen|cents?)\b", re.I)),
    ("date", re.compile(
        r"\b(?:jan(?:uary)?|feb(?:ruary)?|march|april|may|june|july|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|"
        r"nov(?:ember)?|dec(?:ember)?|monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|"
        r"tomorrow|tonight|century|decade|(?:1[5-9]|20)\d\d|\d+(?:st|nd|rd|th)?s?\b(?= ?(?:a\.m|p\.m|am\b|pm\b))|"
        r"years?|months?|weeks?|days?|hours?|minutes?)\b", re.I)),
    ("number", re.compile(
        r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?|"
        r"millions?|billions?|trillions?|half|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)\b", re.I)),
]
# Words that a name's other words may sit around uncapitalised ("the Ministry of Defence", "Ludwig van Beethoven").
_SMALL_WORDS = frozenset("of the and for de von van der la le al bin & -".split())
# The span kinds that answer each kind of question; a span of another known kind is the wrong kind.
_FITTING = {
    "count": {"number"},
    "percent": {"percent", "number"},
    "amount": {"money", "number", "percent"},
    "duration": {"date", "number"},
    "date": {"date"},
    "place": {"name"},
    "organisation": {"name"},
    "person": {"name"},
}
# Spans longer than this many words count as this many (a long span is as doubtful as a 12-word one).
LONG_SPAN_WORDS = 12
# The margin against the next-best distinct span is capped here: beyond it, no span competes.
MAX_GAP = 12.0


def asked_kind(question: str) -> str:
    """What ``question`` asks for: a kind of ``_ASKED``, or "other" when its wording doesn't say."""
    return next((kind for kind, pattern in _ASKED if pattern.search(question)), "other")


def span_kind(span: str) -> str:
    """The kind of ``span``: "percent", "money", "date" (or a time), "number", "name" (every word
    capitalised), or "none".

    >>> [span_kind(span) for span in ("7-6", "$156 billion", "Dec. 15", "Keir Starmer", "station", "15 percent")]
    ['number', 'money', 'date', 'name', 'none', 'percent']
    """
    kind = next((kind for kind, pattern in _SPAN_KINDS if pattern.search(span)), None)
    if kind:
        return kind
    words = [word for word in re.findall(r"[\w'’.-]+", span) if word.lower() not in _SMALL_WORDS]
    return "name" if words and all(word[:1].isupper() for word in words) else "none"


def fits(asked: str, kind: str) -> bool | None:
    """Whether a span of ``kind`` answers a question asking for ``asked``; None when the question's
    wording doesn't say what it asks for, or the span is of no known kind."""
    if asked not in _FITTING or kind == "none":
        return None
    return kind in _FITTING[asked]


@dataclass(frozen=True)
class Evidence:
    """What a reading shows about its best span: the question, the distinct spans best first
    (``Reading.candidates``), every span found (``Reading.spans``: the same words found in other
    contexts agree), and the reader's no-answer threshold."""

    question: str
    candidates: Sequence[Span]
    spans: Sequence[Span]
    threshold: float


# The reader's margin over its threshold and over the next distinct span, windows that found the same
# words, the span's length, and whether its kind fits the question. Measured and left out: whether
# the question's words and names are in the span's sentence or window, and the span in the question
# (SQuAD 2.0's unanswerables were written with the paragraph's own words: on saved_pages_dev the
# ranking fell from AUC 0.876 to 0.808 with them), the span kinds one by one, the raw span score
# and how many spans beat the threshold (docs/experiments.md).
FEATURES = ("margin", "gap", "agreeing_contexts", "span_words", "kind_fits", "kind_wrong")


def features(evidence: Evidence) -> list[float]:
    """The check's inputs, in the order of ``FEATURES``.

    >>> span = Span("Keir Starmer", 0, 12, 0, 9.0, 1.0)
    >>> dict(zip(FEATURES, features(Evidence("Who leads Labour?", [span], [span], 2.0))))
    {'margin': 6.0, 'gap': 12.0, 'agreeing_contexts': 0.0, 'span_words': 2.0, 'kind_fits': 1.0, 'kind_wrong': 0.0}
    """
    best, others = evidence.candidates[0], evidence.candidates[1:]
    fit = fits(asked_kind(evidence.question), span_kind(best.text))
    key = normalize_answer(best.text)
    agreeing = {span.context_index for span in evidence.spans
                if span.context_index != best.context_index and key and normalize_answer(span.text) == key}
    return [
        best.margin - evidence.threshold,
        min(best.margin - others[0].margin, MAX_GAP) if others else MAX_GAP,
        float(len(agreeing)),
        float(min(len(best.text.split()), LONG_SPAN_WORDS)),
        float(fit is True),
        float(fit is False),
    ]


class AnswerCheck:
    """The trained check, loaded from ``directory`` on first use: ``probability(row)`` of
    ``features``, and the ``threshold`` on it below which a reply abstains."""

    def __init__(self, directory: Path = CHECK_DIR) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._model: dict | None = None

    def _load(self) -> dict:
        with self._lock:
            if self._model is None:
                card = json.loads((self.directory / CHECK_FILE).read_text())
                if tuple(card["features"]) != FEATURES:
                    raise ValueError(f"{self.directory / CHECK_FILE} was trained on other features: retrain it (qa train-answer-check)")
                self._model = {
                    "mean": np.asarray(card["mean"]), "scale": np.asarray(card["scale"]),
                    "coef": np.asarray(card["coef"]), "intercept": float(card["intercept"]),
                    "curve_x": np.asarray(card["calibration"]["x"]), "curve_y": np.asarray(card["calibration"]["y"]),
                    "threshold": float(card["threshold"]),
                }
            return self._model

    @property
    def threshold(self) -> float:
        return self._load()["threshold"]

    def raw_score(self, row: Sequence[float]) -> float:
        """The regression's score (its log-odds), before calibration."""
        model = self._load()
        return float((np.asarray(row) - model["mean"]) / model["scale"] @ model["coef"] + model["intercept"])

    def chance_right(self, evidence: Evidence) -> float:
        """The chance, calibrated, that ``evidence``'s best span is a right answer."""
        return self.probability(features(evidence))

    def probability(self, row: Sequence[float]) -> float:
        """The chance, calibrated, that the span ``row`` describes is a right answer."""
        model = self._load()
        return float(np.interp(self.raw_score(row), model["curve_x"], model["curve_y"]))
