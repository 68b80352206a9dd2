"""ask() and Assistant end to end: real embedder, real index, shipped reader."""

from __future__ import annotations

import pytest

import qa
from qa.config import LibrarySettings, Settings
from qa.errors import DocumentError, QuestionError
from qa.library import seed_document
from qa.pipeline import Assistant
from qa.reader import ReaderSettings
from qa.training.squad import question_scores


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, reader, embedder) -> Assistant:
    assistant = Assistant(tmp_path_factory.mktemp("index"), reader=reader, embedder=embedder)
    assistant.add(seed_document())
    return assistant


@pytest.mark.slow
def test_ask_answers_over_the_seed_article():
    answer = qa.ask("What does INDUS-X aim at?")
    assert answer.answerable
    assert "partnerships" in answer.text or "high-tech cooperation" in answer.text
    document = qa.pipeline.default_assistant().document(answer.document_id)
    assert answer.span.of(document.text) == answer.text and answer.span.document_id == document.id
    assert answer.sentence_span.of(document.text) == answer.sentence
    assert answer.sentence_span.holds(answer.span)
    assert answer.text in answer.sentence
    assert 0.5 < answer.score <= 1.0
    assert len(answer.alternatives) <= 3
    assert len({a.text for a in answer.alternatives}) == len(answer.alternatives)
    assert all(a.text != answer.text for a in answer.alternatives)
    # Why: the passages read, each an exact range of the article, the answer the best of one of them.
    assert answer.read and all(p.span.of(document.text) == p.text for p in answer.read)
    assert any(p.best == answer.text and p.span.holds(answer.span) for p in answer.read)
    assert all(a.span.of(document.text) == a.text and a.span.document_id == document.id for a in answer.alternatives)
    # The passages rank by the reader's margin; the answer's confidence is the check's chance (qa.answer_check).
    assert max(answer.read, key=lambda p: p.score).best == answer.text


def test_index_is_built_once_then_loaded(tmp_path, reader, embedder, monkeypatch):
    first = Assistant(tmp_path, reader=reader, embedder=embedder)
    first.add(seed_document())
    calls = []
    monkeypatch.setattr(embedder, "embed", lambda texts, progress=False: calls.append(texts) or [])
    second = Assistant(tmp_path, reader=reader, embedder=embedder)
    second.add(seed_document())
    assert calls == []  # loaded from index/, nothing embedded again


def dev_failures(assistant, questions) -> list[tuple[str, str, float]]:
    """Questions missing the target: answerable F1 < 0.8, or unanswerable not abstained."""
    failures = []
    for question in questions:
        answer = assistant.ask(question.question)
        f1 = question_scores(question, answer.text)[1]
        if question.answerable and f1 < 0.8 or not question.answerable and answer.answerable:
            failures.append((question.question, answer.text, round(f1, 2)))
    return failures


def test_the_seed_questions_meet_the_target(assistant, seed_questions):
    """Every answerable question of the project's own set answered (F1 >= 0.8), every other
    declined, but for the known misses (tests/data/seed_questions.json says why)."""
    assert not dev_failures(assistant, [q for q in seed_questions if q.category != "known miss"])


@pytest.mark.xfail(strict=True, reason="the known misses of tests/data/seed_questions.json: fails loudly once fixed")
def test_the_known_misses_of_the_seed_questions(assistant, seed_questions):
    assert not dev_failures(assistant, [q for q in seed_questions if q.category == "known miss"])


def test_reading_then_answering_is_asking(assistant):
    # The two halves of ask(): what the reader found (kept for calibration), then the decision.
    question = "When did the US designate India a Major Defence Partner?"
    reading = assistant.read(question)
    answer = assistant.answer(reading)
    assert answer == assistant.ask(question)
    assert reading.best is reading.spans[0] and reading.margin == reading.best.margin
    chance = assistant.chance_right(reading)
    threshold = assistant.reader.settings.no_answer_threshold
    assert answer.answerable == (chance >= assistant.answer_check.threshold and reading.margin > threshold)
    assert answer.score == pytest.approx(chance)


def test_a_confident_answer_reads_only_the_top_hit(assistant, reader, embedder, tmp_path):
    question = "When did the US designate India a Major Defence Partner?"
    reading = assistant.read(question)
    assert reading.stopped_early and len(reading.hits) == 3
    _, top = reading.hits[0]
    assert reading.contexts == [top.context]
    settings = assistant.reader.settings
    assert reading.margin > settings.no_answer_threshold + settings.early_answer_margin
    every_hit = Assistant(tmp_path, reader=reader, embedder=embedder, stop_early=False)
    every_hit.add(seed_document())
    reading = every_hit.read(question)
    assert not reading.stopped_early and len(reading.contexts) > 1


def test_when_unsure_every_hit_is_read_each_sentence_once(assistant):
    question = "What is the capital of France?"
    reading = assistant.read(question)
    assert not reading.stopped_early
    read = [position for context in reading.contexts for position in range(context.start, context.end)]
    assert len(read) == len(set(read))  # nothing read twice
    text = assistant.documents[0].text
    in_hits = {p for _, hit in reading.hits for p in range(hit.context.start, hit.context.end)}
    assert {p for p in in_hits if not text[p].isspace()} <= set(read)  # nothing of any hit left unread
    # Read in two rounds, the spans are those of one read of the same contexts (up to bf16 noise).
    contexts = [context.of(text) for context in reading.contexts]
    best, best_at_once = reading.spans[0], assistant.reader.read(question, contexts)[0]
    assert (best.context_index, best.start, best.end) == (
        best_at_once.context_index, best_at_once.start, best_at_once.end
    )
    assert best.margin == pytest.approx(best_at_once.margin, abs=0.2)


def test_early_answers_never_abstain_early():
    with pytest.raises(ValueError, match="early_answer_margin"):
        ReaderSettings(early_answer_margin=-1.0)


def test_abstention_shows_the_closest_sentence(assistant):
    answer = assistant.ask("What is the capital of France?")
    assert not answer.answerable
    assert answer.text == "" and answer.span is None
    assert answer.sentence and answer.score < assistant.answer_check.threshold


def test_own_documents(tmp_path, reader, embedder):
    assistant = Assistant(tmp_path / "index", reader=reader, embedder=embedder)
    (tmp_path / "match.md").write_text(
        "# Cup final\n\nThe Rovers beat United 3-1 in the cup final on Saturday. "
        "Striker Ana Silva scored twice. The match was played in Leeds before 30,000 fans."
    )
    match = assistant.add_file(tmp_path / "match.md")
    other = assistant.add_text("The bakery on Main Street sells rye bread. It opens at 7 a.m.", "Bakery")
    answer = assistant.ask("Who scored twice?", document_id=match.id)
    assert answer.answerable and "Ana Silva" in answer.text and answer.document_id == match.id
    answer = assistant.ask("When does the bakery open?")  # over every loaded document
    assert answer.answerable and "7" in answer.text and answer.document_id == other.id
    assert {d.id for d in assistant.documents} == {match.id, other.id}


@pytest.mark.parametrize("question", ["", "   \n\t", "x" * 100_000])
def test_bad_questions_get_a_clear_error(assistant, question):
    with pytest.raises(QuestionError) as error:
        assistant.ask(question)
    assert str(error.value)


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01binary\x00"])
def test_bad_documents_get_a_clear_error(assistant, text):
    with pytest.raises(DocumentError):
        assistant.add_text(text, "bad")
    assert len(assistant.documents) == 1  # the seed article is still there


def test_unknown_document(assistant):
    with pytest.raises(DocumentError, match="no article 'nope' is stored here"):
        assistant.ask("Who?", document_id="nope")


# --- every input has a budget -----------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "What does INDUS-X aim at? " + "Please answer in detail, " * 22,  # 574 characters: the old panic
        "What does INDUS-X aim at and " + "why " * 240,  # 989: the old truncation error
        "What does INDUS-X aim at? « réponse détaillée, s'il vous plaît » ✓ 🚀 " * 9,  # many tokens per character
    ],
)
def test_a_question_longer_than_the_reader_takes_is_read_cut_and_says_so(assistant, question):
    answer = assistant.ask(question)
    assert answer.understood_as and question.startswith(answer.understood_as)
    assert assistant.reader.fit_question(answer.understood_as) == answer.understood_as  # it fits: nothing more to cut
    assert answer.sentence  # an answer, or the closest sentence


def test_a_short_question_is_read_as_asked(assistant):
    assert assistant.ask("What does INDUS-X aim at?").understood_as is None


def test_questions_of_any_length_and_script_get_an_answer_or_a_sentence(assistant):
    """Property: every question of 1 to 1,000 characters, in any script, gets an Answer or a
    QuestionError with a message; nothing else escapes, and nothing hangs."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    scripts = st.sampled_from(["Latin", "Han", "Cyrillic", "Arabic", "Devanagari", "Common", "Zs"])
    letters = st.one_of(
        st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Z")),
        scripts.flatmap(lambda s: st.characters(categories=("L",)) if s != "Zs" else st.just(" ")),
    )

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.text(letters, min_size=1, max_size=1000))
    def check(question):
        try:
            answer = assistant.ask(question)
        except QuestionError as error:
            assert str(error) == "Please type a question." or "characters long" in str(error) or "English only" in str(error)
            return
        assert answer.sentence is not None and 0.0 <= answer.score <= 1.0

    check()


@pytest.mark.parametrize(("question", "script"), [
    ("美国国防部长什么时候抵达新德里？", "Chinese or Japanese"),
    ("متى وصل وزير الدفاع الأمريكي؟", "Arabic"),
    ("מתי הגיע שר ההגנה?", "Hebrew"),
])
def test_a_question_in_another_script_is_told_that_the_reader_understands_english_only(assistant, question, script):
    with pytest.raises(QuestionError, match=f"Your question is written in {script} script: the reader understands English only"):
        assistant.ask(question)


@pytest.mark.parametrize("question", [
    "When did \ud800 he arrive?",  # a lone surrogate: the tokenizer raised TypeError
    "When did the US Defence Secretary arrive\udfff in New Delhi?",
])
def test_text_that_cannot_be_encoded_is_repaired(assistant, question):
    answer = assistant.ask(question)
    assert answer.sentence.encode() and "\ud800" not in answer.question
    with pytest.raises(QuestionError, match="Please type a question"):
        assistant.ask("\ud800 \udc00")
    document = assistant.add_text("The ferry \ud800 leaves at noon.", "Ferry \udc00")
    assert document.text.encode() and assistant.ask("When does the ferry leave?", document.id).text == "noon"


def test_fullwidth_latin_is_read_as_latin(assistant):
    """NFKC: "Ｗｈｏ ｉｓ …" was refused as a foreign script."""
    assert assistant.ask("Ｗｈｏ ｉｓ the US Defence Secretary?").text == assistant.ask("Who is the US Defence Secretary?").text


def test_an_article_of_stop_words_is_searched_by_meaning(tmp_path, reader, embedder):
    assistant = Assistant(tmp_path, reader=reader, embedder=embedder)
    document = assistant.add_text("It is what it is. So it was, and so it will be.", "Stop words")
    answer = assistant.ask("What is it?", document.id)
    assert answer.sentence and sorted(p.name for p in tmp_path.iterdir()) == [document.id]


def test_articles_beyond_the_memory_budget_are_unloaded_and_come_back(tmp_path, reader, embedder):
    assistant = Assistant(tmp_path, reader=reader, embedder=embedder, settings=Settings(library=LibrarySettings(loaded_chars_budget=250)))
    seed = assistant.add_text("The ferry leaves at noon. The captain is Maria Lopez.", "Ferry")
    stories = [
        assistant.add_text(f"Story {n}: the {colour} bridge opened on {n} May after years of work.", f"S{n}")
        for n, colour in enumerate(["red", "green", "blue", "white", "black"], start=1)
    ]
    loaded = [document.id for document in assistant.documents]
    assert seed.id in loaded and stories[-1].id in loaded and stories[0].id not in loaded
    assert sum(len(document.text) for document in assistant.documents) <= 250
    assert assistant.ask("When did the bridge open?", stories[0].id).text == "1 May"  # back from disk
    assert stories[0].id in [document.id for document in assistant.documents]


def test_a_markdown_tables_rows_are_read_as_sentences_and_answered(tmp_path, reader, embedder):
    assistant = Assistant(tmp_path, reader=reader, embedder=embedder)
    table = "# Museum visits\n\n| Day | Visitors |\n|---|---|\n| Monday | 120 |\n| Tuesday | 95 |\n| Wednesday | 310 |\n"
    path = tmp_path / "visits.md"
    path.write_text(table)
    document = assistant.add_file(path)
    assert "| Day |" not in document.text
    assert assistant.ask("How many visitors came on Tuesday?", document.id).text == "95"
