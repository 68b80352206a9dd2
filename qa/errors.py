"""Errors a user can cause and fix: shown as one clear message, never a traceback."""


class QAError(Exception):
    """Base class: the message is meant for the user."""


class QuestionError(QAError):
    """The question is empty, blank or too long."""


class DocumentError(QAError):
    """A document is empty, binary, too large or of an unsupported type."""


class DataError(QAError):
    """A dataset file is missing, unreadable or not in SQuAD format."""
