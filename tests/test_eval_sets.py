"""qa eval on the two sets scored through the chat itself: saved pages (--pages) and chat shapes
(--shapes); the calibration records every set writes (--outcomes) and what bench/calibration.py
draws from them."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qa.answer import Answer, Citation, Context
from qa.cli import main
from qa.errors import DataError
from qa.training.chat_shapes import judge, verdict_of
from qa.training.evaluate import (
    Calibration,
    Outcome,
    read_outcomes,
    reliability,
    risk_coverage,
    write_outcomes,
)
from qa.training.saved_pages import load_probe

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "The US Defence Secretary arrived in New Delhi on Sunday."


def reply(text: str, *, verdict: str | None = None, answerable: bool = True, score: float = 0.5,
          sentence: str = SENTENCE, citations: tuple[str, ...] = ()) -> Answer:
    span = Context("d", 0, len(text)) if answerable else None
    cited = tuple(Citation(c, Context("d", 0, len(c)), Context("d", 0, len(c))) for c in citations)
    return Answer("q", text, score, answerable, sentence, span, Context("d", 0, len(sentence)), "d", "t",
                  citations=cited, verdict=verdict)


CLAIM_NO = {"id": "c1", "kind": "claim", "verdict": "no", "evidence": SENTENCE, "correction": "Sunday"}


def test_a_verdict_must_match_and_carry_its_evidence_and_a_no_its_correction():
    assert judge(CLAIM_NO, reply("No — it says he arrived on Sunday", verdict="no"))
    assert not judge(CLAIM_NO, reply("Yes", verdict="yes"))
    # The right verdict, but its sentence is not the evidence: not right.
    assert not judge(CLAIM_NO, reply("No", verdict="no", sentence="Austin met Singh."))
    # The evidence, but not the article's own value for a "no" with a correction.
    assert not judge(CLAIM_NO, reply("No", verdict="no", sentence="The US Defence Secretary arrived in New Delhi."))
    polar = {"id": "p1", "kind": "polar", "verdict": "not stated", "evidence": ""}
    assert judge(polar, reply("", answerable=False))
    assert not judge(polar, reply("Sunday"))  # a bare span is no verdict


def test_a_verdict_is_read_from_the_answer_then_its_first_word_then_an_abstention():
    assert verdict_of(reply("Sunday", verdict="no")) == "no"
    assert verdict_of(reply("Yes, on Sunday")) == "yes"
    assert verdict_of(reply("", answerable=False)) == "not stated"
    assert verdict_of(reply("Sunday")) is None


def test_clauses_quotes_counts_and_lists_are_judged_by_the_words_they_hold():
    why = {"id": "w", "kind": "why", "answers": ["to discuss a new initiative"]}
    assert judge(why, reply("to discuss a new initiative, INDUS-X"))
    assert not judge(why, reply("a new initiative"))  # 3 of 5 words
    assert not judge(why, reply(" ".join(["to discuss a new initiative"] * 25)))  # over 80 words
    assert judge({"id": "h", "kind": "how", "answers": [], "answerable": False}, reply("", answerable=False))
    assert not judge({"id": "h", "kind": "how", "answers": [], "answerable": False}, reply("by plane"))
    count = {"id": "n", "kind": "count", "answers": ["three", "3"]}
    assert judge(count, reply("Three: jet engines, artillery and vehicles"))
    assert not judge(count, reply("thirty"))
    items = {"id": "l", "kind": "list", "items": ["jet engines", "long-range artillery", "infantry vehicles"]}
    assert judge(items, reply("", citations=("jet engines", "long-range artillery", "infantry vehicles")))
    assert not judge(items, reply("jet engines and long-range artillery"))  # 2 of 3 < 80%


def test_calibration_counts_confidently_wrong_answers_and_the_error_of_those_given(tmp_path):
    outcomes = [Outcome("a", 0.95, True, True), Outcome("b", 0.92, True, False), Outcome("c", 0.97, False, False, False),
                Outcome("d", 0.3, True, False)]
    calibration = Calibration.of(outcomes)
    assert (calibration.replies, calibration.confidently_wrong) == (4, 1)  # c declined: not wrong at 97%
    # Bins: {0.3: 0 right}, {0.95, 0.92: 1 of 2}: (1/3)*0.3 + (2/3)*|0.935 - 0.5|
    assert calibration.error == pytest.approx(0.1 + (2 / 3) * 0.435)
    assert reliability(outcomes) == [(0.3, 0.0, 1), (0.935, 0.5, 2)]
    coverage, accuracy = risk_coverage(outcomes)
    assert coverage.tolist() == [0.25, 0.5, 0.75, 1.0] and accuracy.tolist() == [0.0, 0.5, 1 / 3, 0.25]
    write_outcomes(tmp_path / "o.jsonl", outcomes)
    assert read_outcomes(tmp_path / "o.jsonl") == outcomes


def test_a_probe_naming_a_page_that_is_not_there_is_told_in_a_sentence(tmp_path):
    probe = tmp_path / "probe.json"
    probe.write_text(json.dumps({"pages": [{"id": "x" * 20, "questions": []}]}))
    pages = tmp_path / "pages.json.gz"
    with gzip.open(pages, "wt") as handle:
        json.dump([{"id": "y", "html": "<p>hi</p>"}], handle)
    with pytest.raises(DataError, match="1 of the probe's pages are not in"):
        load_probe(probe, pages)
    with pytest.raises(DataError, match="cannot read the saved-pages set"):
        load_probe(tmp_path / "missing.json", pages)


@pytest.fixture
def saved_page(tmp_path, seed_text) -> tuple[Path, Path]:
    paragraphs = "".join(f"<p>{p}</p>" for p in seed_text.split("\n\n") if p.strip())
    html = (f"<html><head><title>INDUS-X</title></head><body><nav>Home | World | Sport</nav>"
            f"<article><h1>US, India launch INDUS-X</h1>{paragraphs}</article><footer>(c) 2023</footer></body></html>")
    pages = tmp_path / "pages.json.gz"
    with gzip.open(pages, "wt", encoding="utf-8") as handle:
        json.dump([{"id": "indus-page-000000001", "html": html}], handle)
    probe = tmp_path / "probe.json"
    probe.write_text(json.dumps({"pages": [{"id": "indus-page-000000001", "questions": [
        {"question": "When did the US Defence Secretary arrive in New Delhi?", "answers": ["Sunday", "on Sunday"],
         "is_impossible": False},
        {"question": "What is the name of Austin's dog?", "answers": [], "is_impossible": True},
    ]}]}))
    return probe, pages


def test_eval_pages_loads_each_page_as_a_users_file_and_scores_what_ask_replies(saved_page, tmp_path, capsys, seed_assistant):
    probe, pages = saved_page
    written, outcomes = tmp_path / "predictions.json", tmp_path / "outcomes.jsonl"
    assert main(["eval", str(probe), "--pages", str(pages), "--predictions", str(written), "--outcomes", str(outcomes)]) == 0
    printed = capsys.readouterr().out
    predictions = json.loads(written.read_text())
    assert list(predictions) == ["indus-page-00000#0", "indus-page-00000#1"]
    # The same page as a file, asked through the public API, replies the same.
    html = json.loads(gzip.open(pages, "rt").read())[0]["html"]
    (tmp_path / "page.html").write_text(html)
    document = seed_assistant.add_file(tmp_path / "page.html")
    for (_, given), question in zip(predictions.items(), json.loads(probe.read_text())["pages"][0]["questions"]):
        answer = seed_assistant.ask(question["question"], document_id=document.id)
        assert given == (answer.text if answer.answerable else "")
    assert predictions["indus-page-00000#0"].endswith("Sunday")
    f1 = float(re.search(r"HasAns EM [\d.]+\s+F1 ([\d.]+)", printed).group(1))
    assert f1 == pytest.approx(100.0)
    assert "NoAns accuracy" in printed and "replies wrong at >= 90% confidence" in printed and "1 pages" in printed
    recorded = read_outcomes(outcomes)
    assert [o.answerable for o in recorded] == [True, False] and recorded[0].answered and recorded[0].span_right


def test_eval_shapes_scores_each_kind_as_its_rules_judge_what_ask_replies(tmp_path, seed_text, capsys, seed_assistant):
    questions = [
        {"id": "p1", "article": "indus", "kind": "polar", "question": "Did the US Defence Secretary arrive in New Delhi on Sunday?",
         "verdict": "yes", "evidence": SENTENCE},
        {"id": "c1", "article": "indus", "kind": "claim", "question": "The US Defence Secretary arrived in New Delhi on Monday, right?",
         "verdict": "no", "evidence": SENTENCE, "correction": "Sunday"},
        {"id": "n1", "article": "indus", "kind": "count",
         "question": "How many things are India and the US exploring co-producing?", "answers": ["three", "3"]},
    ]
    data = tmp_path / "shapes.json"
    data.write_text(json.dumps({"articles": [{"id": "indus", "title": "INDUS-X", "text": seed_text}], "questions": questions}))
    written = tmp_path / "replies.json"
    assert main(["eval", str(data), "--shapes", "--predictions", str(written)]) == 0
    printed = capsys.readouterr().out
    replies = {r["id"]: r for r in json.loads(written.read_text())}
    document = seed_assistant.add_text(seed_text, "INDUS-X")
    for question in questions:
        answer = seed_assistant.ask(question["question"], document_id=document.id)
        assert replies[question["id"]]["text"] == answer.text
        assert replies[question["id"]]["right"] == judge(question, answer)
    right = sum(r["right"] for r in replies.values())
    assert re.search(rf"chat shapes: {right}/3 right", printed), printed
    assert re.search(r"^claim\s+\d/\s*1", printed, re.M) and "yes/no and claims" in printed


@pytest.mark.slow
def test_the_calibration_script_draws_both_figures_and_prints_the_pooled_error(tmp_path):
    outcomes = [Outcome(f"q{n}", n / 40, n % 3 != 0, n % 2 == 0, n % 5 != 0) for n in range(40)]
    write_outcomes(tmp_path / "a.jsonl", outcomes[:25])
    write_outcomes(tmp_path / "b.jsonl", outcomes[25:])
    image = tmp_path / "calibration.png"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "calibration.py"), f"a={tmp_path / 'a.jsonl'}",
                           f"b={tmp_path / 'b.jsonl'}", "--image", str(image)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    pooled = Calibration.of(outcomes)
    assert f"pooled: {pooled.summary()}" in done.stdout
    assert image.stat().st_size > 10_000 and image.read_bytes()[:4] == b"\x89PNG"
