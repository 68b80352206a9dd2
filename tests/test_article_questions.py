"""Telling questions about the whole article from questions about a fact in it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.article_questions import QuestionKinds, article_question_kind

ARTICLE_LEVEL = [
    ("What is this article about?", "summary"),
    ("Summarize the article", "summary"),
    ("tl;dr", "summary"),
    ("Can you give me the gist of the story, please?", "summary"),
    ("What's the story here?", "summary"),
    ("What are these articles about?", "archive_summary"),
    ("What are the main points?", "main_points"),
    ("and the key facts?", "main_points"),
    ("Summarize the main points of the report.", "main_points"),
    ("Who are the people mentioned?", "people"),
    ("Who is mentioned?", "people"),
    ("Who is this article about?", "people"),
    ("Which organisations are named in the story?", "organisations"),
    ("What companies are mentioned?", "organisations"),
    ("Which places are mentioned?", "places"),
    ("Where does the story take place?", "places"),
    ("What countries are involved?", "places"),
    ("When was this written?", "date"),
    ("What is the publication date?", "date"),
    ("Who wrote it?", "author"),
    ("ok, and who is this by?", "author"),
    # A typo in a word the rules know ("mentioned", "organisations", "wrote", "byline", "article").
    ("who's mentoined in the piece", "people"),
    ("organisaitons?", "organisations"),
    ("Who wroote this piece?", "author"),
    ("bylien?", "author"),
    ("which regions does the artcile cover", "places"),
]
# Questions about one fact that use the same words: never taken for article-level ones.
SPAN_LOOK_ALIKES = [
    "What is the dispute about?",
    "Who wrote the letter to the senator?",
    "When was the treaty signed?",
    "Which places did the hurricane hit?",
    "What are the main points of the new law?",
    "Which companies will build the jet engines?",
    "Where did the minister arrive?",
    "Who is the President of France?",
    "In what country?",
    "By who?",
    "Where?",
    "What happened?",
    "When was it?",
    "Who said the talks were productive?",
    "What is INDUS-X about?",
    "Tell me about him.",
    # English words a typo away from words the rules know ("story", "place", "headline", "posted").
    "What was the storm?",
    "Which plane?",
    "What was the deadline?",
    "Who hosted?",
    # A singular is no typo of its plural: one organisation, one location asked for.
    "Which organisation?",
    "What is the location?",
]


@pytest.mark.parametrize(("question", "kind"), ARTICLE_LEVEL)
def test_article_level_phrasings_are_told(question, kind):
    assert article_question_kind(question) == kind


@pytest.mark.parametrize("question", SPAN_LOOK_ALIKES)
def test_a_question_about_one_fact_is_never_taken_for_one_about_the_article(question):
    assert article_question_kind(question) is None


def test_one_typo_apart_is_one_letter_left_out_added_changed_or_two_swapped():
    from qa.article_questions import one_typo_apart

    assert all(one_typo_apart(a, b) for a, b in [("ponts", "points"), ("peice", "piece"), ("summery", "summary"),
                                                 ("reporrter", "reporter"), ("points", "ponts")])
    assert not any(one_typo_apart(a, b) for a, b in [("points", "points"), ("pionst", "points"), ("date", "dates2x"),
                                                     ("summary", "sumary__")])


@pytest.mark.parametrize(("question", "count"), [
    ("Summarize it in one sentence", 1), ("Summarise the story in a single sentence.", 1), ("tl;dr in a line", 1),
    ("Give me a one-liner", 1), ("one-sentence summary please", 1), ("Summarize the article in two sentences", 2),
    ("Summarize it in 3 sentences", 3), ("What are the five key takeaways?", 5), ("top 3 points?", 3),
    ("What are the 2 most important points?", 2), ("Sum it up in ten lines", 10),
    ("Summarise it in a sentence or two.", 2), ("Summarize it in 2 or 3 sentences", 3),
    ("Summarize it", None), ("What are the main points?", None), ("Summarize it in a few sentences", None),
    ("What is one of the main points?", None),
])
def test_the_number_of_sentences_or_points_asked_for_is_read(question, count):
    from qa.article_questions import count_asked

    assert count_asked(question) == count


def test_none_of_the_seed_questions_is_article_level(seed_questions):
    assert [q.question for q in seed_questions if article_question_kind(q.question)] == []


def classifier_dir(tmp_path, threshold=0.6):
    """A two-kind classifier over 2-dimensional "embeddings": the first axis says summary."""
    np.savez(tmp_path / "classifier.npz", coef=np.array([[4.0, 0.0], [-4.0, 0.0]], np.float32),
             intercept=np.zeros(2, np.float32), classes=np.array(["summary", "span"]))
    (tmp_path / "classifier.json").write_text(json.dumps({"threshold": threshold}))
    return tmp_path


def test_the_classifier_is_asked_only_where_the_rules_find_no_kind(tmp_path):
    asked = []

    def embed(question):
        asked.append(question)
        return np.array([1.0, 0.0]) if "boil" in question.lower() else np.array([-1.0, 0.0])

    kinds = QuestionKinds(embed, classifier_dir(tmp_path))
    assert kinds.kind("What is this article about?") == "summary" and asked == []  # the rules knew
    assert kinds.kind("Boil it down for me") == "summary"
    assert kinds.kind("Who won the match?") is None
    assert asked == ["Boil it down for me", "Who won the match?"]


def test_the_classifier_needs_its_threshold_and_never_reads_a_question_about_someone(tmp_path):
    kinds = QuestionKinds(lambda question: np.array([0.05, 0.0]), classifier_dir(tmp_path, threshold=0.6))
    assert kinds.kind("Boil it down") is None  # summary at p = 0.599, under 0.6
    confident = QuestionKinds(lambda question: np.array([1.0, 0.0]), classifier_dir(tmp_path))
    assert confident.kind("Boil it down") == "summary"
    assert confident.kind("Boil her speech down") is None  # "her": about someone in it
    padded = "Boil it down. " + "Please answer in detail, " * 5  # 23 words: about something in particular
    assert confident.kind(padded) is None and confident.classified(padded) == "summary"


@pytest.mark.slow
def test_the_shipped_classifier_reads_what_the_rules_miss(embedder, seed_questions):
    kinds = QuestionKinds(embedder.embed_query)
    for question, kind in (("Who put this article together?", "author"), ("Where is the story set?", "places")):
        assert article_question_kind(question) is None and kinds.kind(question) == kind
    assert [q.question for q in seed_questions if kinds.kind(q.question)] == []
