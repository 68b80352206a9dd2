"""The generator of unanswerable training questions: each rule on small fixed examples, with the real
spaCy pipeline and WordNet, and the SQuAD 2.0 file it writes read back by the training loader."""

from __future__ import annotations

import random

import pytest

from qa.training.squad import Question, load_questions
from qa.training.unanswerable import (
    Generator,
    generate,
    load_spacy,
    occurs,
    remove_answer,
    swap_number,
    write_squad,
)
from qa.training.wordnet import lemminflect_inflection, wordnet_antonyms

PARAGRAPH = (
    "Boeing chose General Electric to build the engines in 1995. The largest plant opened in Ohio in March. "
    "Airbus, its rival in Toulouse, picked Rolls-Royce. Three engineers designed the fan."
)


def question(text: str, answer: str, qid: str = "q1", article: str = "Jets") -> Question:
    return Question(qid, text, PARAGRAPH, (answer,), (PARAGRAPH.index(answer),), article)


@pytest.fixture(scope="module")
def nlp():
    return load_spacy()


@pytest.fixture(scope="module")
def generator(nlp):
    generator = Generator(nlp, wordnet_antonyms(), lemminflect_inflection)
    sources = [
        question("Who did Boeing choose to build the engines?", "General Electric"),
        question("Who did Airbus pick?", "Rolls-Royce", "q2"),
        Question("x1", "What did Lockheed build?", "Lockheed built jets.", ("jets",), (15,), "Other"),
        Question("x2", "Where is Lockheed based?", "Lockheed is in Texas.", ("Texas",), (15,), "Other"),
    ]
    generator.learn_entities([(q, nlp(q.question)) for q in sources])
    return generator


def test_entity_swap_uses_an_entity_of_the_same_type_absent_from_the_paragraph(generator, nlp):
    source = question("Who did Boeing choose to build the engines?", "General Electric")
    made = generator.swap_entity(source, nlp(source.question), random.Random(0))
    assert made is not None and made.category == "entity"
    assert made.question == "Who did Lockheed choose to build the engines?"
    assert not occurs("Lockheed", made.context)
    assert made.context == PARAGRAPH
    assert PARAGRAPH[made.plausible_start :].startswith(made.plausible_answer)


def test_no_entity_swap_when_every_candidate_occurs_in_the_paragraph(nlp):
    generator = Generator(nlp, lambda lemma, pos: [], lemminflect_inflection)
    source = question("Who did Boeing choose to build the engines?", "General Electric")
    # The only other ORG known is Airbus, which the paragraph names.
    generator.learn_entities([(source, nlp(source.question)), (source, nlp("What did Airbus pick?"))] * 2)
    assert generator.swap_entity(source, nlp(source.question), random.Random(0)) is None


def test_number_swap_changes_a_year_the_paragraph_holds_to_one_it_does_not():
    made = swap_number(question("What happened in 1995?", "Boeing chose General Electric"), random.Random(3))
    assert made is not None and made.category == "number"
    year = made.change.split(" -> ")[1]
    assert year != "1995" and year.isdigit() and abs(int(year) - 1995) <= 12
    assert not occurs(year, PARAGRAPH)


def test_number_swap_of_a_month_and_of_a_number_word():
    made = swap_number(question("What opened in Ohio in March?", "The largest plant"), random.Random(0))
    assert made.change.startswith("March -> ") and not occurs(made.change.split(" -> ")[1], PARAGRAPH)
    made = swap_number(question("Who did Three engineers design?", "the fan"), random.Random(0))
    assert made.change.startswith("Three -> ") and made.question.split()[2][0].isupper()


def test_no_number_swap_without_a_number_the_paragraph_holds():
    assert swap_number(question("What happened in 1990?", "Boeing"), random.Random(0)) is None


def test_antonym_swap_inflects_like_the_word_it_replaces(generator, nlp):
    source = question("Where did the largest plant open?", "Ohio")
    made = generator.swap_antonym(source, nlp(source.question), random.Random(0))
    assert made is not None and made.question == "Where did the smallest plant open?"


def test_negation_is_inserted_after_the_auxiliary(generator, nlp):
    source = question("Who did Airbus pick?", "Rolls-Royce")
    made = generator.negate(source, nlp(source.question))
    assert made is not None and made.question == "Who did not Airbus pick?" or made.question == "Who did Airbus not pick?"


def test_negation_with_no_auxiliary_gets_do_support(generator, nlp):
    source = question("Who designed the fan?", "Three engineers")
    made = generator.negate(source, nlp(source.question))
    assert made.question == "Who did not design the fan?"


def test_no_negation_where_the_answer_sentence_is_negated_itself(generator, nlp):
    context = "Airbus did not pick Pratt. It picked Rolls-Royce."
    source = Question("n", "Who did Airbus pick?", context, ("Pratt",), (context.index("Pratt"),), "Jets")
    assert generator.negate(source, nlp(source.question)) is None


def test_answer_removed_drops_every_sentence_holding_the_answer():
    made = remove_answer(question("Who designed the fan?", "Three engineers"))
    assert made.category == "removed" and made.plausible_answer == ""
    assert "Three engineers" not in made.context and made.context.startswith("Boeing chose")


def test_generate_writes_squad2_with_categories_and_plausible_answers(tmp_path, nlp):
    sources = [
        question("Who did Boeing choose to build the engines?", "General Electric", "a"),
        question("Where did the largest plant open?", "Ohio", "b"),
        question("Who designed the fan?", "Three engineers", "c"),
        question("What happened in 1995?", "Boeing chose General Electric", "d"),
    ]
    made = generate(sources, random.Random(0), nlp, per_answerable=1.0,
                    shares={"antonym": 0.25, "negation": 0.25, "number": 0.25, "removed": 0.25})
    assert 2 <= len(made) <= 4
    path = write_squad(made, tmp_path / "made.json.gz") or tmp_path / "made.json.gz"
    loaded = {q.id: q for q in load_questions(path)}
    for u in made:
        q = loaded[u.id]
        assert not q.answerable and q.category == u.category and q.question == u.question
        if q.plausible_start is not None:
            assert q.context[q.plausible_start :].startswith(q.plausible_answer)
