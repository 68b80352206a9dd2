"""Text normalisation shared by the answers (telling two spans apart) and their evaluation."""

from __future__ import annotations

import re
import string
import unicodedata

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
# Lone surrogates (from JSON "\\ud800" or a bad decode) can't be encoded as UTF-8: the tokenizer
# and every response writer would fail on them.
_SURROGATES = re.compile("[\ud800-\udfff]")


def repaired(text: str) -> str:
    r"""``text`` with what can't be encoded (lone surrogates) replaced by U+FFFD.

    >>> repaired("When did \ud800 he arrive?") == "When did \ufffd he arrive?"
    True
    """
    return _SURROGATES.sub("\ufffd", text)


def question_form(text: str) -> str:
    r"""A question as the pipeline reads it: repaired, NFKC-normalised (fullwidth letters, ligatures),
    its whitespace collapsed.

    >>> question_form("\uff37\uff48\uff4f  is\u00a0mentioned?")
    'Who is mentioned?'
    """
    return " ".join(unicodedata.normalize("NFKC", repaired(text)).split())


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and articles, collapse whitespace (the official SQuAD rule).

    >>> normalize_answer("The  Eiffel-Tower!")
    'eiffeltower'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())
