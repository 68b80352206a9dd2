"""Answers about the whole article: summaries, main points, names, date and author."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import HashingEmbedder

from qa.articles import ArticleStore
from qa.centrality import lexrank
from qa.documents import document_from_text
from qa.entities import merged_mentions
from qa.errors import QuestionError
from qa.overview import Overview, main_point_sentences, summary_sentences
from qa.store_build import prepare, update_corpus

STORY = (
    "Heavy rain flooded the old town of Ribe on Monday night after the river broke its banks. "
    "Firefighters pumped water from hundreds of cellars until the morning. "
    "He said it was the worst flood in forty years. "
    "The council opened the sports hall for families who had to leave their homes. "
    "Insurers expect claims to reach several million kroner across the region. "
    "Forecasters warn that more rain will fall on Thursday."
)


def index_of(tmp_path, text=STORY, **meta):
    return ArticleStore(tmp_path, HashingEmbedder()).load_or_build(document_from_text(text, "Floods in Ribe", meta=meta))


def overview() -> Overview:
    return Overview(HashingEmbedder().embed)


def test_a_summary_is_the_lead_and_central_sentences_in_order_each_cited(tmp_path):
    index = index_of(tmp_path)
    answer = overview().answer("What is this about?", "summary", index)
    assert answer.answerable and answer.kind == "summary" and 2 <= len(answer.citations) <= 4
    assert answer.citations[0].text.startswith("Heavy rain flooded")  # the lead
    starts = [c.span.start for c in answer.citations]
    assert starts == sorted(set(starts))  # in the article's order, none twice
    for citation in answer.citations:
        assert citation.span.of(index.document.text) == citation.text
        assert citation.sentence_span == citation.span and citation.span.document_id == index.document.id
    assert not any(c.text.startswith("He said") for c in answer.citations)  # leans on what came before
    assert answer.text == " ".join(c.text for c in answer.citations)


def test_main_points_are_central_sentences_none_repeating_another(tmp_path):
    answer = overview().answer("What are the main points?", "main_points", index_of(tmp_path))
    assert answer.kind == "main_points" and len(answer.citations) >= 2
    assert str(answer).splitlines() == [f"- {c.text}" for c in answer.citations]


@pytest.mark.parametrize(("question", "kind", "count"), [
    ("Summarize it in one sentence", "summary", 1), ("Summarize it in 3 sentences", "summary", 3),
    ("What are the four main points?", "main_points", 4), ("Give me the main point in a single sentence", "main_points", 1),
])
def test_a_summary_or_main_points_have_as_many_sentences_as_asked(tmp_path, question, kind, count):
    answer = overview().answer(question, kind, index_of(tmp_path))  # six sentences: two by default
    assert len(answer.citations) == count
    if kind == "summary":
        assert answer.citations[0].text.startswith("Heavy rain flooded")  # the lead, first


def test_date_and_author_come_from_the_pages_details_or_the_article_doesnt_say(tmp_path):
    index = index_of(tmp_path / "a", author="Karen Holm", date="2024-10-21")
    assert overview().answer("Who wrote it?", "author", index).text == "Karen Holm"
    assert overview().answer("When was it published?", "date", index).text == "2024-10-21"
    bare = overview().answer("Who wrote it?", "author", index_of(tmp_path / "b"))
    assert not bare.answerable and str(bare) == "The article doesn't say."


def test_names_are_asked_of_one_article_not_of_a_whole_archive(tmp_path):
    with pytest.raises(QuestionError, match="one article"):
        overview().reply("Who is mentioned?", "people", None, archive=object())


def test_sentences_are_scored_when_indexed_and_their_scores_stored_with_the_index(tmp_path):
    index = index_of(tmp_path)
    assert index.centrality is not None and len(index.centrality) == len(index.sentences)
    reopened = index_of(tmp_path)  # read back from the stored index
    assert np.allclose(reopened.centrality, index.centrality, atol=1e-6)
    embedder = HashingEmbedder()
    assert np.array_equal(Overview(embedder.embed).centrality(reopened), reopened.centrality) and embedder.calls == 0


def test_an_archives_articles_are_scored_from_the_sentence_vectors_it_already_has(tmp_path):
    embedder = HashingEmbedder()
    (prepared,) = prepare([document_from_text(STORY, "Floods in Ribe")], embedder)  # an archive's recipe
    assert embedder.calls == 1  # its sentences alone: their vectors make the chunks' and the centrality
    assert np.allclose(prepared.centrality, lexrank(embedder.embed([s.text for s in prepared.sentences])))
    corpus = update_corpus(tmp_path / "archive", embedder, [prepared])
    assert np.allclose(corpus.view(prepared.document.id).centrality, prepared.centrality, atol=1e-6)


def test_an_index_of_an_older_format_has_its_sentences_scored_once(tmp_path):
    older = dataclasses.replace(index_of(tmp_path), centrality=None)
    embedder = HashingEmbedder()
    kept = Overview(embedder.embed)
    first = kept.centrality(older)
    assert embedder.calls == 1 and np.allclose(first, index_of(tmp_path).centrality)
    assert np.array_equal(kept.centrality(older), first) and embedder.calls == 1


@pytest.mark.parametrize("count", [1, 2, 3])
def test_a_summary_never_repeats_and_keeps_its_count(count):
    sentences = [f"Item {n} of the list has words of its own like {w}." for n, w in enumerate("alpha beta gamma delta".split())]
    chosen = summary_sentences([0.1, 0.4, 0.3, 0.2], sentences, count)
    assert chosen[0] == 0 and len(chosen) == len(set(chosen)) <= count
    assert main_point_sentences([0.1, 0.4, 0.3, 0.2], sentences, count) == sorted(main_point_sentences([0.1, 0.4, 0.3, 0.2], sentences, count))


def test_name_forms_merge_under_the_longest_cited_at_the_first_mention():
    mentions = merged_mentions([
        ("Sec Def Austin", 10, 24, "PERSON"), ("Lloyd J Austin III", 40, 58, "PERSON"),
        ("the Ministry of Defence", 70, 93, "ORG"), ("Llyod Austin", 95, 107, "PERSON"), ("Llyod", 120, 125, "ORG"),
    ])
    # "Llyod Austin": the same surname, the first name one typo away; "Llyod" alone, tagged an
    # organisation, is in a person's name.
    assert [(m.name, m.start, m.count, m.label) for m in mentions] == [
        ("Lloyd J Austin III", 10, 4, "PERSON"), ("Ministry of Defence", 70, 1, "ORG")]


# --- the seed article, with the shipped models -----------------------------------------------------


@pytest.mark.parametrize("question", [
    "What is this article about?", "Summarize the article", "What are the main points?",
    "Who are the people mentioned?", "Which organisations are mentioned?", "What places are mentioned?",
])
def test_article_level_questions_on_the_seed_never_get_doesnt_say(seed_assistant, question):
    answer = seed_assistant.ask(question)
    assert answer.answerable and answer.kind != "span" and answer.citations


def test_what_it_is_about_cites_what_indus_x_aims_at(seed_assistant):
    answer = seed_assistant.ask("What is it about?")
    assert any("aims at" in c.text and "INDUS-X" in c.text for c in answer.citations)


def test_who_is_mentioned_lists_singh_and_austin_each_at_a_first_mention(seed_assistant):
    answer = seed_assistant.ask("Who is mentioned?")
    names = [c.text for c in answer.citations]
    assert "Rajnath Singh" in names and "Lloyd J Austin III" in names
    text = seed_assistant.documents[0].text
    for citation in answer.citations:  # cited where the article first says it, in any form
        said = citation.span.of(text)
        assert said.split()[-1] in citation.text.split() or said in citation.text
        assert citation.sentence_span.holds(citation.span)


def test_who_is_mentioned_lists_no_platform_among_the_people(seed_assistant):
    # "Meanwhile, taking to Twitter, Defence Minister Rajnath Singh said": spaCy tags "Twitter" a person.
    people = [c.text for c in seed_assistant.ask("Who is mentioned?").citations]
    assert "Twitter" not in people and "Rajnath Singh" in people
    assert "Twitter" in [c.text for c in seed_assistant.ask("Which organisations are mentioned?").citations]


@pytest.mark.slow  # spaCy's pipeline
def test_a_medium_someone_posts_on_is_no_person_named_or_not():
    from qa.entities import EntityFinder

    text = ("Meanwhile, taking to Koo, Defence Minister Rajnath Singh said the talks went well. Taking to Parler, "
            "the senator Jim Hale said the vote was rigged. Taking to Twitter, Minister Ana Silva said the harbour "
            "would reopen, and Tom Berg took to Instagram to thank the firefighters.")
    found = EntityFinder().names("media", text)
    assert {m.name for m in found if m.label == "PERSON"} == {"Rajnath Singh", "Jim Hale", "Ana Silva", "Tom Berg"}
    assert {"Koo", "Parler", "Twitter"} <= {m.name for m in found if m.label == "ORG"}


def test_summarize_it_in_one_sentence_is_one_sentence_on_the_seed(seed_assistant):
    answer = seed_assistant.ask("Summarize it in one sentence")
    assert answer.kind == "summary" and len(answer.citations) == 1 and answer.text == answer.citations[0].text
    assert answer.citations[0].span.start == 0  # the lead
    assert len(seed_assistant.ask("What are the five main points?").citations) == 5


def test_date_and_author_of_the_seed_are_not_said(seed_assistant):
    assert not seed_assistant.ask("Who wrote it?").answerable
    assert not seed_assistant.ask("When was this published?").answerable


# --- an archive ------------------------------------------------------------------------------------


def archive_assistant(tmp_path):
    from conftest import NEWS, fake_reader

    from qa.pipeline import Assistant
    from qa.store_build import prepare, update_corpus

    embedder = HashingEmbedder()
    stories = [document_from_text(text, name.removesuffix(".txt")) for name, text in NEWS.items()]
    update_corpus(tmp_path / "archive", embedder, prepare(stories, embedder))
    assistant = Assistant(tmp_path / "index", reader=fake_reader("nothing at all")[0], embedder=embedder)
    assistant.use_archive(tmp_path / "archive")
    return assistant, stories


def test_what_these_articles_are_about_lists_the_archives_most_central_articles(tmp_path):
    assistant, stories = archive_assistant(tmp_path)
    answer = assistant.ask("What are these articles about?", "*")
    assert answer.kind == "archive_summary" and 1 <= len(answer.citations) <= 5
    by_id = {story.id: story for story in stories}
    for citation in answer.citations:  # each article's lead sentence, cited in that article
        story = by_id[citation.span.document_id]
        assert citation.document_title == story.title and citation.span.of(story.text) == citation.text
        assert citation.span.start == 0
    assert len({c.span.document_id for c in answer.citations}) == len(answer.citations)


def test_asked_of_a_whole_archive_what_it_is_about_means_the_conversations_article(tmp_path):
    from qa.answer import Context
    from qa.follow_ups import Turn

    assistant, stories = archive_assistant(tmp_path)
    earlier = [Turn("Who won?", "Berg", Context(stories[2].id, 10, 14))]
    answer = assistant.ask("What is it about?", "*", history=earlier)
    assert answer.kind == "summary" and answer.document_id == stories[2].id
    assert assistant.ask("What is it about?", "*").kind == "archive_summary"  # no article yet: the archive
    with pytest.raises(QuestionError, match="one article"):
        assistant.ask("Who is mentioned?", "*")
