"""The defaults a user meets, each in one place: the command line, the chat page and the Python API
read them from here. Each stage's own settings are a frozen dataclass beside it
(``RetrievalSettings``, ``CorpusSettings``, ``ChunkingConfig``), and the reader's
calibrated values (its no-answer threshold, its early-answer margin, the backend they were
calibrated on) travel with the model in its ``qa_reader.json`` (``ReaderSettings``).

>>> SERVER.host, SERVER.port
('127.0.0.1', 7860)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSettings:
    # Local only unless the operator asks otherwise: no share links, no open port by default.
    host: str = "127.0.0.1"
    port: int = 7860


SERVER = ServerSettings()
# The title of an article given as text without one.
PASTED_TITLE = "Pasted article"
# The document id that asks an archive whole rather than one article (the page's "whole archive").
WHOLE_ARCHIVE = "*"
