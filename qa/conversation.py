"""A conversation: questions asked in turn about one article, each read in the light of the earlier
turns by the follow-up rules (``qa.follow_ups``); the assistant it asks stays stateless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from qa.answer import Context
from qa.follow_ups import Turn
from qa.pipeline import default_assistant


class Answered(Protocol):
    """What a conversation keeps of an answer (``qa.answer.Answer``)."""

    text: str
    span: Context | None
    document_id: str


class Asks(Protocol):
    """What a conversation asks (``qa.pipeline.Assistant``)."""

    def ask(self, question: str, document_id: str | None = None, *, history: Sequence[Turn] = ()) -> Answered: ...


@dataclass
class Conversation:
    """Questions asked in turn about one article (or all loaded ones), each read in the light of
    the earlier turns. Built on an ``Assistant`` (by default the one ``qa.ask`` uses, over the seed
    article); the assistant itself stays stateless.

    >>> chat = Conversation()                                # the seed article
    >>> chat.ask("Who is the US Secretary of Defence?").text
    'Lloyd J Austin III'
    >>> answer = chat.ask("When did he arrive?")
    >>> answer.text, answer.understood_as
    ('Sunday', 'When did the US Secretary of Defence arrive?')
    """

    assistant: Asks | None = None
    document_id: str | None = None
    turns: list[Turn] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.assistant is None:
            self.assistant = default_assistant()

    def ask(self, question: str) -> Answered:
        """The answer to ``question``, read with the earlier turns; the turn is kept."""
        answer = self.assistant.ask(question, self.document_id, history=self.turns)
        self.turns.append(Turn(question, answer.text, answer.span, answer.document_id))
        return answer

    def clear(self) -> None:
        """Forget the earlier turns: the next question is a first question."""
        self.turns.clear()
