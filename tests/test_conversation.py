"""Follow-up questions: the resolver's rules on fixed turns, and a real conversation on the seed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.answer import Context
from qa.conversation import Conversation
from qa.follow_ups import Resolution, Turn, antecedent, needs_history, reader_question, resolve

SCANDAL = [Turn("who was involved in a scandal?", "Bo Xilai", Context("doc", 10, 18))]


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
    assert with_who.near == Context("doc", 10, 18)
    standalone = resolve("What did the Communist Party decide about Chongqing?", SCANDAL)
    assert standalone.near is None


def test_the_conversation_is_about_the_article_of_its_newest_answer():
    assert resolve("What did the Communist Party decide?", SCANDAL).article == "doc"
    turns = [Turn("Who won the chess final?", "Tomas Berg", Context("chess", 40, 50)), Turn("Who built the bridge?", "", document_id="bridge")]
    assert resolve("How old is he?", turns).article == "chess"  # an abstention names no article
    assert resolve("How old is he?", [Turn("Who won?", "Tomas Berg")]).article is None


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
        return SimpleNamespace(text="Bo Xilai", span=Context("doc", 3, 11), document_id="doc")


def test_a_conversation_keeps_its_turns_and_forgets_them_on_clear():
    assistant = RecordingAssistant()
    chat = Conversation(assistant)
    chat.ask("who was involved?")
    chat.ask("when did he go?")
    assert assistant.histories[0] == [] and assistant.histories[1] == [Turn("who was involved?", "Bo Xilai", Context("doc", 3, 11))]
    chat.clear()
    chat.ask("who?")
    assert assistant.histories[-1] == []


@pytest.mark.parametrize(
    ("question", "leans"),
    [
        ("When did he arrive?", True),
        ("What is its budget?", True),
        ("And India?", True),
        ("What about the navy?", True),
        ("Why?", True),
        ("Who was there?", True),
        ("Which company will build the jet engines?", False),
        ("When did the US Defence Secretary arrive in New Delhi?", False),
        ("What does INDUS-X aim at?", False),
    ],
)
def test_a_question_needs_its_history_only_when_it_leans_on_it(question, leans):
    assert needs_history(question) is leans


def test_the_reader_reads_a_follow_up_with_the_answered_turns_newest_first():
    turns = [
        Turn("Who won the final?", "Tomas Berg"),
        Turn("Where was it?", "Oslo"),
        Turn("Who is the President of France?", ""),  # declined: lends nothing
    ]
    assert reader_question("How old is he?", turns) == "How old is he? || Where was it? Oslo || Who won the final? Tomas Berg"
    assert reader_question("How old is he?", turns, history_turns=1) == "How old is he? || Where was it? Oslo"
    assert reader_question("How old is he?", turns, history_turns=0) == "How old is he?"
    assert reader_question("How old is Tomas Berg?", turns) == "How old is Tomas Berg?"


def test_a_question_that_stands_alone_is_read_and_searched_as_if_asked_first():
    resolution = resolve("Which company will build the jet engines?", SCANDAL)
    assert resolution == Resolution(
        "Which company will build the jet engines?", "Which company will build the jet engines?",
        article="doc", wider_query="Which company will build the jet engines?",
    )


def test_a_declined_turn_lends_no_names():
    declined = [Turn("Who is the President of France?", "", document_id="doc")]
    assert resolve("When did he arrive?", declined) == Resolution("When did he arrive?", "When did he arrive?", wider_query="When did he arrive?")
    assert antecedent(declined) is None
    # Behind a declined turn, the answered one before it is what "he" means.
    assert resolve("When did he resign?", SCANDAL + declined).question == "When did Bo Xilai resign?"


@pytest.mark.slow
def test_the_readmes_follow_up_and_a_turn_that_must_change_nothing(seed_assistant):
    chat = Conversation(seed_assistant)
    assert "Austin" in chat.ask("Who is the US Secretary of Defence?").text
    follow_up = chat.ask("When did he arrive?")
    assert (follow_up.text, follow_up.understood_as) == ("Sunday", "When did the US Secretary of Defence arrive?")
    alone = seed_assistant.ask("Which company will build the jet engines?")
    chat = Conversation(seed_assistant)
    chat.ask("How much money is committed to INDUS-X?")
    after = chat.ask("Which company will build the jet engines?")
    assert not alone.answerable and after == alone
    chat = Conversation(seed_assistant)
    assert not chat.ask("Who is the President of France?").answerable
    assert chat.ask("When did he arrive?").understood_as is None  # the declined turn lent no "President of France"


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_question_that_stands_alone_gets_its_own_answer_after_any_earlier_turns(seed_assistant, seed_questions, data):
    """Seed questions that don't lean on a conversation, after random earlier turns (other seed
    questions with their answers, someone else's answer, or a declined turn): the answer asked alone."""
    standalone = [q.question for q in seed_questions if not needs_history(q.question)]
    question = data.draw(st.sampled_from(standalone))
    answers = [a for q in seed_questions for a in q.answers] + ["", "Bo Xilai"]
    turns = data.draw(st.lists(
        st.builds(Turn, st.sampled_from([q.question for q in seed_questions]), st.sampled_from(answers)), max_size=3
    ))
    document_id = seed_assistant.documents[0].id
    turns = [Turn(turn.question, turn.answer, Context(document_id, 0, len(turn.answer)) if turn.answer else None, document_id) for turn in turns]
    assert seed_assistant.ask(question, document_id, history=turns) == seed_assistant.ask(question, document_id)


def test_a_real_follow_up_on_the_seed_article(seed_assistant):
    assistant = seed_assistant
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


@pytest.mark.slow
def test_a_conversation_needs_no_setup_like_ask():
    from qa import ask

    chat = Conversation()
    assert chat.ask("Who is the US Secretary of Defence?").text == ask("Who is the US Secretary of Defence?").text
    assert chat.ask("When did he arrive?").text == "Sunday"


@pytest.mark.slow
def test_a_turn_about_another_article_lends_nothing(reader, embedder, tmp_path):
    from qa.library import seed_document
    from qa.pipeline import Assistant

    assistant = Assistant(tmp_path, reader=reader, embedder=embedder)
    seed = assistant.add(seed_document()).id
    chess = assistant.add_text("Fifteen-year-old Tomas Berg won the national chess title in Oslo on Sunday.", "Chess")
    earlier = [Turn("Who won the chess title?", "Tomas Berg", Context(chess.id, 16, 26))]
    after = assistant.ask("When did he arrive in New Delhi?", seed, history=earlier)
    assert after == assistant.ask("When did he arrive in New Delhi?", seed)
    assert after.understood_as is None  # not "When did Tomas Berg arrive ...?"
