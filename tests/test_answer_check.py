"""The answer check (qa.answer_check): its features on fixed readings, the shipped model's card, and
that the chatbot's confidence is the check's probability."""

from __future__ import annotations

import json

import pytest

from qa.answer_check import (
    CHECK_DIR,
    CHECK_FILE,
    FEATURES,
    AnswerCheck,
    Evidence,
    asked_kind,
    features,
    fits,
    span_kind,
)
from qa.reader import Span

SENTENCES = "Tariffs on $156 billion of goods take effect on Dec. 15. The rate is 15 percent. Talks resume in May."


def row_of(question: str, spans: list[Span], threshold: float = 0.0) -> dict:
    return dict(zip(FEATURES, features(Evidence(question, spans, spans, threshold))))


@pytest.mark.parametrize(("question", "kind"), [
    ("How many shares is Alibaba selling?", "count"),
    ("What tariff rate takes effect?", "other"),
    ("What percentage of the vote did she win?", "percent"),
    ("How much did the bridge cost?", "amount"),
    ("How long did the talks last?", "duration"),
    ("When did he arrive?", "date"),
    ("In what year was it founded?", "date"),
    ("Where was the summit held?", "place"),
    ("Which company bought the branch?", "organisation"),
    ("Who is buying the Zurich branch?", "person"),
    ("What did the report find?", "other"),
])
def test_what_a_question_asks_for(question, kind):
    assert asked_kind(question) == kind


def test_a_span_of_the_wrong_kind_is_told_apart_from_one_of_the_right_kind():
    span = Span("$156 billion", 11, 23, 0, 8.0, 1.0)
    assert SENTENCES[11:23] == "$156 billion"
    count = row_of("How many goods are taxed?", [span])
    amount = row_of("How much in goods is taxed?", [span])
    assert (count["kind_wrong"], count["kind_fits"]) == (1.0, 0.0)
    assert (amount["kind_wrong"], amount["kind_fits"]) == (0.0, 1.0)
    station = row_of("Which car dealership did he try?", [Span("station", 0, 7, 0, 8.0, 1.0)])
    assert station["kind_wrong"] == station["kind_fits"] == 0.0  # no known kind: neither
    assert fits("place", "none") is None and fits("person", "number") is False


@pytest.mark.parametrize(("span", "kind"), [
    ("7-6", "number"), ("4,000", "number"), ("nine years", "date"), ("911", "number"), ("$156 billion", "money"),
    ("15 percent", "percent"), ("Sunday", "date"), ("Keir Starmer", "name"), ("the Ministry of Defence", "name"),
    ("station", "none"), ("advancing high-tech cooperation", "none"),
])
def test_the_kind_of_a_span(span, kind):
    assert span_kind(span) == kind


def test_margin_gap_agreement_and_length_are_read_from_the_reading():
    first, second = "The rate is 15 percent.", "Officials said the rate is 15 percent."
    spans = [Span("15 percent", 12, 22, 0, 9.0, 2.0), Span("15 percent", 27, 37, 1, 8.0, 2.0),
             Span("Officials", 0, 9, 1, 4.0, 2.0)]
    assert first[12:22] == second[27:37] == "15 percent"
    alone = dict(zip(FEATURES, features(Evidence("What is the rate?", [spans[0], spans[2]], [spans[0], spans[2]], 1.0))))
    assert alone["margin"] == 6.0 and alone["gap"] == 5.0 and alone["agreeing_contexts"] == 0.0
    agreed = dict(zip(FEATURES, features(Evidence("What is the rate?", [spans[0], spans[2]], spans, 1.0))))
    assert agreed["agreeing_contexts"] == 1.0  # the same words found in another window
    assert agreed["span_words"] == 2.0 and agreed["kind_fits"] == agreed["kind_wrong"] == 0.0  # "what" says no kind
    long = Span("the rate is 15 percent and it was set by the board after a long and difficult debate", 0, 10, 0, 5.0, 0.0)
    assert row_of("What is the rate?", [long])["span_words"] == 12.0  # capped


def test_the_shipped_check_is_a_calibrated_map_onto_probabilities():
    card = json.loads((CHECK_DIR / CHECK_FILE).read_text())
    assert card["features"] == list(FEATURES)
    curve = card["calibration"]
    assert curve["y"] == sorted(curve["y"]) and 0.0 <= curve["y"][0] <= curve["y"][-1] <= 1.0
    check = AnswerCheck()
    sure, unsure = [Span("15 percent", 12, 22, 0, 14.0, 0.0)], [Span("15 percent", 12, 22, 0, 0.0, 6.0)]
    confident = features(Evidence("What is the rate?", sure, sure, 0.0))
    doubtful = features(Evidence("What is the rate?", unsure, unsure, 0.0))
    assert 0.0 <= check.probability(doubtful) < check.threshold < check.probability(confident) <= 1.0


def test_a_check_trained_on_other_features_is_refused(tmp_path):
    card = json.loads((CHECK_DIR / CHECK_FILE).read_text())
    (tmp_path / CHECK_FILE).write_text(json.dumps({**card, "features": card["features"][:-1]}))
    with pytest.raises(ValueError, match="other features"):
        AnswerCheck(tmp_path).probability([0.0] * len(FEATURES))


@pytest.mark.slow
def test_the_answer_shows_the_checks_probability_and_abstains_below_its_threshold(seed_assistant):
    """The real models: an answer's confidence is the check's chance, on both sides of its threshold."""
    assistant = seed_assistant
    reading = assistant.read("When did the US Defence Secretary arrive in New Delhi?")
    answer = assistant.answer(reading)
    assert answer.text == "Sunday" and answer.score == pytest.approx(assistant.chance_right(reading))
    assert answer.score >= assistant.answer_check.threshold
    unknown = assistant.read("Who is the chairman of the Conservative Party?")
    declined = assistant.answer(unknown)
    assert not declined.answerable and declined.score < assistant.answer_check.threshold
