"""The shipped reader: answers, abstains, exact offsets, and agrees with the transformers pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import qa.reader
from qa.backends import ONNX_FP32, ONNX_INT8, TORCH, TORCH_FP32
from qa.chunking import split_sentences
from qa.reader import DEFAULT_READER_DIR, READER_SETTINGS_FILE, Reader
from qa.training.end_to_end import is_unclean


@pytest.fixture(scope="module")
def seed_sentences(seed_text) -> list[str]:
    return [s.text for s in split_sentences(seed_text)]


def test_constructor_is_cheap_and_model_loads_once(reader):
    fresh = Reader()
    assert not fresh.loaded  # nothing loaded until the first read
    calls = []
    original = qa.reader.reader_model
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(qa.reader, "reader_model", lambda *args: calls.append(args) or original(*args))
        fresh.read("What is INDUS-X?", ["INDUS-X is a defence initiative."])
        assert fresh.loaded
        fresh.read("What is INDUS-X?", ["INDUS-X is a defence initiative."])
    assert len(calls) == 1


def test_answers_from_the_seed_article(reader, fp32_reader, seed_sentences):
    question = "What is INDUS-X focused on?"
    assert "high-tech cooperation" in fp32_reader.read(question, seed_sentences)[0].text
    spans = reader.read(question, seed_sentences)
    assert spans and reader.is_answer(spans[0])
    # Among all 30 sentences at once, int8 puts the ministers' "focus on ... industrial cooperation"
    # 0.05 logit ahead (fp32: 0.23 behind); retrieval hands the reader INDUS-X's own sentence first.
    assert "high-tech cooperation" in spans[0].text or "high-tech cooperation" in spans[1].text


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


def test_spans_compare_across_contexts_by_their_own_margin(fp32_reader, seed_sentences):
    # A sentence read alone or among others gets the same span score and the same "no answer"
    # score: no per-window softmax, and each context is weighed against its own [CLS] score.
    # (In fp32: under bf16, padding in a shared batch moves scores by bf16's rounding.)
    question = "What is INDUS-X focused on?"
    among = fp32_reader.read(question, seed_sentences, top_k=200)
    assert [span.margin for span in among] == sorted((span.margin for span in among), reverse=True)
    best_of_context = {}
    for span in among:
        best_of_context.setdefault(span.context_index, span)
    assert len({span.no_answer_score for span in best_of_context.values()}) > 1
    for span in list(best_of_context.values())[:3]:
        alone = fp32_reader.read(question, [seed_sentences[span.context_index]])[0]
        assert (alone.start, alone.end) == (span.start, span.end)
        assert alone.score == pytest.approx(span.score, abs=1e-3)
        assert alone.no_answer_score == pytest.approx(span.no_answer_score, abs=1e-3)
    assert among[0].context_index == 1


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
    return Reader(backend=TORCH_FP32)


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


# (backend, how far its margins may move): torch is bf16 where the CPU has it natively; int8
# quantises weights and activations.
@pytest.mark.parametrize(("backend", "margin_tolerance"), [(TORCH, 0.5), (ONNX_INT8, 1.0)])
def test_every_shipped_backend_reads_like_fp32(fp32_reader, seed_text, backend, margin_tolerance):
    reader = Reader(backend=backend)
    paragraphs = seed_text.split("\n\n")
    for question, _ in PARITY_CASES:
        full, other = fp32_reader.read(question, paragraphs)[0], reader.read(question, paragraphs)[0]
        assert (other.context_index, other.start, other.end) == (full.context_index, full.start, full.end)
        # Margins move by a logit at most, small against the no-answer threshold's scale.
        assert other.margin == pytest.approx(full.margin, abs=margin_tolerance), question
        assert reader.is_answer(other) == fp32_reader.is_answer(full)


@pytest.mark.slow
def test_the_torch_backend_converts_its_weights_once():
    import torch

    from qa.backends import TorchReaderModel

    model = TorchReaderModel(DEFAULT_READER_DIR, bf16=True)
    assert model.model.dtype == torch.bfloat16  # converted at load, not cast on every read


@pytest.mark.slow
def test_the_onnx_export_computes_what_torch_computes(tmp_path, fp32_reader, seed_text):
    import shutil

    from qa.training.onnx_export import export_reader_onnx

    model_dir = tmp_path / "reader"
    shutil.copytree(DEFAULT_READER_DIR, model_dir, ignore=shutil.ignore_patterns("onnx"))
    export_reader_onnx(model_dir, keep_fp32=True)
    exported = Reader(model_dir, backend=ONNX_FP32)
    question, paragraph = "What did India and the US conclude?", seed_text.split("\n\n")[2]
    ours, reference = exported.read(question, [paragraph]), fp32_reader.read(question, [paragraph])
    assert [(s.start, s.end) for s in ours] == [(s.start, s.end) for s in reference]
    assert [s.score for s in ours] == pytest.approx([s.score for s in reference], abs=1e-3)
    # int8 but for the embeddings and the feed-forward output projections (qa.training.onnx_export)
    assert (model_dir / "onnx" / "model.int8.onnx").stat().st_size < (model_dir / "onnx" / "model.onnx.data").stat().st_size * 0.8


def test_the_reader_is_part_of_the_public_api():
    import qa

    assert qa.Reader is Reader and "Reader" in qa.__all__


def test_the_reader_turns_a_models_logits_into_exact_spans_without_a_model():
    """The shared fake model: real tokenising, windows and span decoding on fixed logits."""
    from conftest import fake_reader

    reader, model = fake_reader("Sunday", score=8.0, no_answer=1.0)
    contexts = ["Nothing to see here.", "The US Defence Secretary arrived in New Delhi on Sunday."]
    best = reader.read("When did he arrive?", contexts)[0]
    assert (best.text, best.context_index) == ("Sunday", 1)
    assert contexts[1][best.start : best.end] == "Sunday"
    assert best.margin == pytest.approx(8.0 - 1.0)
    assert len(model.windows) == 2  # one window per short context
    # A question longer than the reader takes is cut before it meets the model.
    reader.read("why " * 500, contexts)
    assert max(len(window) for window in model.windows) <= reader.settings.max_seq_len
