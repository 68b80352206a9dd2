"""Questions of other shapes than a fact: their shape recognised (pure rules), their replies made
from fixed sentences (pure functions), and asked of the seed article end to end."""

from __future__ import annotations

import pytest

from qa.chunking import Sentence
from qa.library import seed_document
from qa.pipeline import Assistant
from qa.shaped import NO, NOT_STATED, YES, Found, check_claim, clause_around, reply_in_shape
from qa.shapes import SHAPES, claim_of, question_shape, topic_of


@pytest.mark.parametrize(("question", "shape"), [
    ("Did Austin meet Modi?", "polar"),
    ("Has the roadmap been signed?", "polar"),
    ("Can the car be locked with the key inside?", "polar"),
    ("Is it tea or coffee?", "fact"),  # a choice, answered by one of them
    ("Austin arrived on Monday, right?", "claim"),
    ("Is it true that Austin arrived on Monday?", "claim"),
    ("I read that the talks failed.", "claim"),
    ("The talks were in Delhi, weren't they?", "claim"),
    ("Dawkins died at 62.", "claim"),  # a bare statement
    ("Why did Austin visit India?", "why"),
    ("What was the reason for the visit?", "why"),
    ("How does the key work?", "how"),
    ("How old is she?", "fact"),
    ("How much did it cost?", "fact"),
    ("How many tests were played?", "count"),
    ("Tell me more about the undersea domain", "elaborate"),
    ("Explain the roadmap.", "elaborate"),
    ("What did Rajnath Singh tweet?", "quote"),
    ("What did the minister say about the talks?", "quote"),
    ("Which companies will build the engines?", "list"),
    ("Who are the two left-armers?", "list"),
    ("When did Austin arrive?", "fact"),
    ("Who is the US Defence Secretary?", "fact"),
    ("What is INDUS-X?", "fact"),
    ("Ｄｉｄ Austin meet Modi?", "polar"),  # fullwidth letters read as Latin
    # Fact questions in the words of other shapes (nyt_news_dev's, read by hand).
    ("How did Mitchell feel about the question?", "fact"),  # a state, not a manner
    ("How does the article describe his personality?", "fact"),
    ("How was the Minsk1 experience?", "fact"),
    ("How was the 2008 sodium study done?", "how"),
    ("What did the officers say would be threatened?", "fact"),  # a thing said about, not the words
    ("What did Toby Gad say Madonna likes?", "fact"),
    ("What did the police warn him not to do?", "fact"),
    ("What did McCarthy tell reporters on Friday?", "quote"),
    ("What did Johnson say it's like living with her conditions?", "quote"),
    ("What type of projections does the show include?", "fact"),  # one kind asked for
    ("What kinds of diets are healthy?", "list"),
    ("What is avoided by voice search if the answer is right?", "fact"),  # "right" said, not a tag
    ("According to the article, has Exxon been a good global citizen?", "polar"),
    ("Who is given an elaborate dressing table and mirror?", "fact"),  # an adjective
    ("Can you elaborate?", "elaborate"),
    ("How many U.S. dollars were saved?", "fact"),  # a sum of money
    ("What were the Knicks' chances of winning the lottery?", "fact"),  # a possessive, not a plural asked for
])
def test_the_shape_of_a_question(question, shape):
    assert question_shape(question) == shape and shape in SHAPES


def test_a_claim_and_a_topic_are_read_out_of_the_question():
    assert claim_of("Austin arrived on Monday, right?") == "Austin arrived on Monday"
    assert claim_of("I read that the talks failed.") == "the talks failed"
    assert topic_of("Tell me more about the undersea domain, please") == "the undersea domain"
    assert topic_of("Tell me more.") == ""


SENTENCES = [
    "Austin arrived in New Delhi on Sunday.",
    "He met Rajnath Singh on Monday to discuss jet engines, long-range artillery and infantry vehicles.",
    "Investors piled into dollars on the expectation that rates will rise, analysts said.",
    'Singh said, "We look forward to working with the US across the domains."',
    "The car cannot be locked if the key is left inside.",
]


@pytest.mark.parametrize(("claim", "verdict"), [
    ("Austin arrived on Sunday", YES),
    ("Austin arrived on Monday", NO),  # another day: the article's own is the correction
    ("Austin did not arrive in New Delhi", NO),  # a negated claim against a plain sentence
    ("You can lock the car if the key is left inside", NO),  # a plain claim against a negated sentence
    ("Austin flew to Tokyo in a jet", NOT_STATED),
    ("Austin met Modi", NOT_STATED),  # a name no sentence about meeting gives
])
def test_a_claim_is_checked_against_the_sentences(claim, verdict):
    assert check_claim(claim, SENTENCES, 0).verdict == verdict


def test_a_no_carries_the_articles_own_value():
    verdict = check_claim("Austin arrived on Monday", SENTENCES, 0)
    assert SENTENCES[verdict.sentence][slice(*verdict.correction)] == "Sunday"


def _found(text: str, sentences: list[str], piece: str, margin: float = 8.0) -> Found:
    spans, position = [], 0
    for sentence in sentences:
        start = text.index(sentence, position)
        spans.append(Sentence(sentence, start, start + len(sentence)))
        position = start + len(sentence)
    start = text.index(piece)
    return Found(text, spans, start, start + len(piece), margin)


def test_replies_in_each_shape_from_fixed_sentences():
    text = " ".join(SENTENCES)
    why = reply_in_shape("why", "Why are investors piling into dollars?", _found(text, SENTENCES, "rates will rise"))
    assert why.text == "on the expectation that rates will rise"
    items = reply_in_shape("list", "Which weapons did they discuss?", _found(text, SENTENCES, "jet engines"))
    assert [text[a:b] for a, b in items.pieces] == ["jet engines", "long-range artillery", "infantry vehicles"]
    count = reply_in_shape("count", "How many weapons did they discuss?", _found(text, SENTENCES, "jet engines"))
    assert count.text == "three: jet engines, long-range artillery and infantry vehicles"
    quote = reply_in_shape("quote", "What did Singh say?", _found(text, SENTENCES, "Singh said"))
    assert quote.text == "We look forward to working with the US across the domains."
    more = reply_in_shape("elaborate", "Tell me more about the car key", _found(text, SENTENCES, "Austin"))
    assert more.text == SENTENCES[4] and more.cited
    # Nothing read about the question: not stated, not the nearest fragment.
    assert reply_in_shape("why", "Why did it rain?", _found(text, SENTENCES, "Sunday", margin=-9.0)).text == ""


def test_a_clause_runs_from_its_cue_to_its_break():
    sentence = "Prices fell because demand collapsed in the spring; stocks rose."
    start = sentence.index("demand")
    assert sentence[slice(*clause_around(sentence, start, start + 6))] == "because demand collapsed in the spring"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, reader, embedder) -> Assistant:
    assistant = Assistant(tmp_path_factory.mktemp("index"), reader=reader, embedder=embedder)
    assistant.add(seed_document())
    return assistant


def test_verdicts_on_the_seed_article(assistant):
    """The issue's examples: a false claim and a true one no longer look alike."""
    wrong = assistant.ask("Austin arrived on Monday, right?")
    assert (wrong.kind, wrong.verdict, wrong.text) == ("verdict", NO, "No — it says Sunday")
    assert wrong.span.of(seed_document().text) == "Sunday" and "Sunday" in wrong.sentence
    right = assistant.ask("Austin arrived on Sunday, right?")
    assert right.verdict == YES and right.text.startswith("Yes") and "arrived in New Delhi on Sunday" in right.sentence
    assert assistant.ask("Did Austin meet Modi?").verdict == NOT_STATED
    honour = assistant.ask("Was the guard of honour at the Manekshaw Centre?")
    # A "yes" is shown with the clause that says it, not the reader's fragment ("Yes — he was accorded").
    assert (honour.verdict, honour.text) == (YES, "Yes — he was accorded the guard of honour at the Manekshaw Centre")
    for answer in (wrong, right):
        assert answer.score < 0.9  # a verdict's confidence is its measured accuracy, not the reader's 99%


def test_other_shapes_on_the_seed_article(assistant):
    quote = assistant.ask("What did Rajnath Singh tweet?")
    assert quote.kind == "quote" and quote.text.startswith("India-US partnership is critical")
    items = assistant.ask("Which vehicles will be co-produced?")
    assert items.kind == "list" and len(items.citations) >= 2
    more = assistant.ask("Tell me more about the undersea domain")
    assert more.kind == "elaborate" and "undersea domain" in more.text and more.citations
    assert str(assistant.ask("Why did it rain in Paris?")).startswith("The article doesn't say")


def test_a_follow_up_yes_no_question_is_read_against_the_conversation(assistant):
    from qa.conversation import Conversation

    chat = Conversation(assistant, document_id=seed_document().id)
    chat.ask("Who is the US Defence Secretary?")
    answer = chat.ask("Did he arrive on Monday?")
    assert answer.verdict == NO and "Sunday" in answer.text
