"""The shipped reader: answers, abstains, exact offsets, and agrees with the transformers pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from qa.chunking import split_sentences
from qa.reader import DEFAULT_READER_DIR, READER_SETTINGS_FILE, Reader
from qa.training.evaluate import is_unclean


@pytest.fixture(scope="module")
def seed_sentences(seed_text) -> list[str]:
    return [s.text for s in split_sentences(seed_text)]


def test_constructor_is_cheap_and_model_loads_once(reader):
    fresh = Reader()
    assert fresh._model is None  # nothing loaded until the first read
    fresh.read("What is INDUS-X?", ["INDUS-X is a defence initiative."])
    model = fresh._model
    fresh.read("What is INDUS-X?", ["INDUS-X is a defence initiative."])
    assert fresh._model is model


def test_answers_from_the_seed_article(reader, seed_sentences):
    spans = reader.read("What is INDUS-X focused on?", seed_sentences)
    assert spans and reader.is_answer(spans[0])
    assert "high-tech cooperation" in spans[0].text


def test_abstains_on_a_question_the_article_does_not_answer(reader, seed_sentences):
    spans = reader.read("What is the capital of France?", seed_sentences)
    assert spans, "the reader still ranks candidate spans"
    assert not reader.is_answer(spans[0])


QUESTIONS = [
    "Who held talks with his Indian counterpart?",
    "When did the US Defence Secretary arrive in New Delhi?",
    "Where was he accorded the guard of honour?",
    "What did India and the US conclude?",
    "When did the US designate India a Major Defence Partner?",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_offset_slices_the_context_exactly(reader, seed_text, seed_sentences, question):
    contexts = seed_sentences + [
        seed_text,
        "Café déjà vu — “quoted” naïve text: 42 €.",
        'Austin said, "We discussed INDUS-X, a bridge," on Sunday, when he arrived in "New Delhi.',
    ]
    spans = reader.read(question, contexts, top_k=20)
    assert spans
    for span in spans:
        assert contexts[span.context_index][span.start : span.end] == span.text
        assert span.text.strip() == span.text and span.text
        assert not is_unclean(span.text), span.text


def test_long_context_is_read_in_strides(reader, seed_text):
    # The whole article is far longer than one 160-token window; the answer is near the end.
    spans = reader.read("When did the US designate India a Major Defence Partner?", [seed_text])
    assert spans and "2016" in spans[0].text
    assert seed_text[spans[0].start : spans[0].end] == spans[0].text


def test_scores_compare_across_contexts(fp32_reader, seed_sentences):
    # The same sentence read alone or among others gets the same span score: no per-window softmax.
    # (In fp32: under bf16, padding in a shared batch moves scores by bf16's rounding.)
    question = "What is INDUS-X focused on?"
    alone = fp32_reader.read(question, [seed_sentences[1]])[0]
    among = fp32_reader.read(question, seed_sentences)[0]
    assert among.context_index == 1
    assert among.score == pytest.approx(alone.score, abs=1e-3)


def test_empty_input_reads_nothing(reader):
    assert reader.read("   ", ["Some text."]) == []
    assert reader.read("Who?", []) == []
    assert reader.read("Who?", ["  "]) == []


def test_threshold_is_stored_with_the_model():
    stored = json.loads((DEFAULT_READER_DIR / READER_SETTINGS_FILE).read_text())
    assert Reader().settings.no_answer_threshold == stored["no_answer_threshold"]


# (question, a word of the seed paragraph it is about)
PARITY_CASES = [
    ("Who held talks with his Indian counterpart?", "counterpart"),
    ("When did the US Defence Secretary arrive in New Delhi?", "arrived"),
    ("Where was he accorded the guard of honour?", "guard of honour"),
    ("What did India and the US conclude?", "roadmap"),
    ("When did the US designate India a Major Defence Partner?", "Major Defence Partner"),
    ("What did the leaders explore during the talks?", "resilient supply chains"),
]


@pytest.fixture(scope="module")
def fp32_reader():
    """The shipped reader in full precision, as the transformers pipeline runs it."""
    return Reader(bf16=False)


# The transformers question-answering pipeline's answers, recorded from transformers 5.2 (the last
# release with it) by tests/fixtures/record_pipeline_reference.py.
PIPELINE_REFERENCE = Path(__file__).resolve().parent / "fixtures" / "pipeline_reference.json"
MAX_ANSWER_TOKENS = 30  # the reader's default, given to the pipeline as max_answer_len


def test_best_span_matches_the_transformers_pipeline(fp32_reader, seed_text):
    # Each question against the paragraph it is about, short enough for a single window, so both
    # read exactly the same tokens.
    reference = json.loads(PIPELINE_REFERENCE.read_text())
    assert fp32_reader.settings.max_answer_tokens == reference["max_answer_len"] == MAX_ANSWER_TOKENS
    assert [(case["question"], case["keyword"]) for case in reference["cases"]] == PARITY_CASES
    for case in reference["cases"]:
        paragraph = next(p for p in seed_text.split("\n\n") if case["keyword"] in p)
        ours = fp32_reader.read(case["question"], [paragraph])[0]
        assert (ours.start, ours.end, ours.text) == (case["start"], case["end"], case["answer"]), case["question"]


def test_bf16_reads_like_fp32(fp32_reader, seed_text):
    # bf16 is on by default where the CPU has it; forced on here so the check runs everywhere.
    bf16_reader = Reader(bf16=True)
    bf16_reader.load()
    assert bf16_reader._model.dtype == torch.bfloat16  # weights converted once, not cast per read
    paragraphs = seed_text.split("\n\n")
    for question, _ in PARITY_CASES:
        full, half = fp32_reader.read(question, paragraphs)[0], bf16_reader.read(question, paragraphs)[0]
        assert (half.context_index, half.start, half.end) == (full.context_index, full.start, full.end)
        # Margins move by a fraction of a logit, small against the no-answer threshold's scale.
        assert half.margin == pytest.approx(full.margin, abs=0.5)


def test_the_reader_is_part_of_the_public_api():
    import qa

    assert qa.Reader is Reader and "Reader" in qa.__all__
