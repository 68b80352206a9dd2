"""Follow-up questions: the resolver's rules on fixed turns, and a real conversation on the seed."""

from __future__ import annotations

import pytest

from qa.conversation import Conversation, Resolution, Turn, antecedent, resolve

SCANDAL = [Turn("who was involved in a scandal?", "Bo Xilai", 10, "doc")]


@pytest.mark.parametrize(
    ("question", "read_as"),
    [
        ("who will replace him?", "who will replace Bo Xilai?"),
        ("When did he resign?", "When did Bo Xilai resign?"),
        ("what is his title?", "what is Bo Xilai's title?"),
        ("what is her title?", "what is Bo Xilai's title?"),  # "her" before a noun: possessive
        ("who met her in May?", "who met Bo Xilai in May?"),  # before a preposition: an object
        ("did they leave?", "did Bo Xilai leave?"),
        ("is it true?", "is it true?"),  # "it" is left alone
        ("Where is Chongqing?", "Where is Chongqing?"),  # nothing to resolve
    ],
)
def test_pronouns_are_resolved_to_the_latest_name(question, read_as):
    assert resolve(question, SCANDAL).question == read_as


def test_a_first_question_is_read_and_searched_as_asked():
    assert resolve("Who is he?", []) == Resolution("Who is he?", "Who is he?")


def test_the_query_carries_the_previous_turn_and_short_follow_ups_read_near_its_answer():
    with_who = resolve("with who?", SCANDAL)
    assert with_who.question == "with who?"
    assert with_who.query == "with who? who was involved in a scandal? Bo Xilai"
    assert (with_who.near, with_who.near_document_id) == (10, "doc")
    standalone = resolve("What did the Communist Party decide about Chongqing?", SCANDAL)
    assert standalone.near is None


def test_the_conversation_is_about_the_article_of_its_newest_answer():
    assert resolve("What did the Communist Party decide?", SCANDAL).article == "doc"
    turns = [Turn("Who won the chess final?", "Tomas Berg", 40, "chess"), Turn("Who built the bridge?", "", None, "bridge")]
    assert resolve("How old is he?", turns).article == "chess"  # an abstention names no article
    assert resolve("How old is he?", [Turn("Who won?", "Tomas Berg", 40, None)]).article is None


def test_beyond_the_conversations_article_a_question_is_searched_as_resolved_and_a_short_one_with_the_turn():
    assert resolve("How many ships waited offshore?", SCANDAL).wider_query == "How many ships waited offshore?"
    assert resolve("what is his title?", SCANDAL).wider_query == "what is Bo Xilai's title?"
    with_who = resolve("with who?", SCANDAL)
    assert with_who.wider_query == with_who.query == "with who? who was involved in a scandal? Bo Xilai"


def test_the_antecedent_skips_answers_that_are_not_names():
    turns = [
        Turn("Did Zhang Dejiang replace Bo Xilai?", "yes he did"),
        Turn("when was this reported?", "Thursday"),
    ]
    assert antecedent(turns) == "Zhang Dejiang"  # not "Thursday", nor "yes he did": the question's first name
    turns.append(Turn("who announced it?", "Xinhua News Agency"))
    assert antecedent(turns) == "Xinhua News Agency"
    assert antecedent([Turn("what happened?", "")]) is None


class RecordingAssistant:
    """Fake: answers every question with its own resolved form, and records the history it got."""

    def __init__(self):
        self.histories = []

    def ask(self, question, document_id=None, *, history=()):
        from types import SimpleNamespace

        self.histories.append(list(history))
        return SimpleNamespace(text="Bo Xilai", start=3, document_id="doc")


def test_a_conversation_keeps_its_turns_and_forgets_them_on_clear():
    assistant = RecordingAssistant()
    chat = Conversation(assistant)
    chat.ask("who was involved?")
    chat.ask("when did he go?")
    assert assistant.histories[0] == [] and assistant.histories[1] == [Turn("who was involved?", "Bo Xilai", 3, "doc")]
    chat.clear()
    chat.ask("who?")
    assert assistant.histories[-1] == []


def test_a_real_follow_up_on_the_seed_article(reader, embedder, tmp_path):
    from qa.pipeline import Assistant, seed_document

    assistant = Assistant(tmp_path, reader=reader, embedder=embedder)
    assistant.add(seed_document())
    chat = Conversation(assistant)
    first = chat.ask("Who is the US Secretary of Defence?")
    assert first == assistant.ask("Who is the US Secretary of Defence?")  # a first question: as today
    assert "Austin" in first.text
    follow_up = chat.ask("When did he arrive in New Delhi?")
    assert follow_up.understood_as == "When did the US Secretary of Defence arrive in New Delhi?"
    assert follow_up.text == "Sunday"
    # "New Delhi" (a place) is not whom the next "he" means.
    assert chat.ask("Who did he hold talks with?").understood_as == "Who did the US Secretary of Defence hold talks with?"


def test_a_who_is_the_question_lends_its_description_to_the_pronoun():
    turns = [Turn("Who is the US Secretary of Defence?", "Llyod Austin III")]
    assert resolve("When did he arrive in New Delhi?", turns).question == "When did the US Secretary of Defence arrive in New Delhi?"
    turns = [Turn("Who met in New Delhi?", "Austin and Singh"), Turn("When did they meet?", "on Monday")]
    assert resolve("Where did they go next?", turns).question == "Where did Austin and Singh go next?"
