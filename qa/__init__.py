"""article-qa: extractive question answering over news articles, offline on a CPU.

>>> from qa import ask
>>> ask("What does INDUS-X aim at?").text
'jumpstarting partnerships between the US and Indian defence innovation sectors'

``import qa`` stays cheap: the pipeline loads on first use of these names (and torch only on the
torch backend, ``QA_BACKEND=torch``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Answer", "Assistant", "Conversation", "Document", "QAError", "Reader", "ask"]

if TYPE_CHECKING:
    from qa.answer import Answer
    from qa.conversation import Conversation
    from qa.documents import Document
    from qa.errors import QAError
    from qa.pipeline import Assistant, ask
    from qa.reader import Reader


def __getattr__(name: str) -> Any:
    if name == "Answer":
        from qa.answer import Answer

        return Answer
    if name in ("Assistant", "ask"):
        from qa import pipeline

        return getattr(pipeline, name)
    if name == "Conversation":
        from qa.conversation import Conversation

        return Conversation
    if name == "Reader":
        from qa.reader import Reader

        return Reader
    if name == "Document":
        from qa.documents import Document

        return Document
    if name == "QAError":
        from qa.errors import QAError

        return QAError
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
