"""The follow-up rules: how a question leans on the turns before it (``qa.conversation`` keeps the turns).

"Who announced INDUS-X?" then "When did he arrive?": the follow-up is read as "When did Llyod
Austin III arrive?" and searched with what it refers to (the previous question and answer). The
resolution is plain rules over the earlier turns (``resolve``), tested on fixed inputs; a first
question is answered exactly as ``Assistant.ask`` answers it.

>>> turns = [Turn("Who is the US Secretary of Defence?", "Llyod Austin III")]
>>> resolve("When did he arrive in New Delhi?", turns).question
'When did the US Secretary of Defence arrive in New Delhi?'
>>> turns = [Turn("Who was removed from his post?", "Bo Xilai")]
>>> resolve("What did his deputy say?", turns).question
"What did Bo Xilai's deputy say?"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.answer import Context
from qa.config import WHOLE_ARCHIVE

# Pronouns that stand for a person or a group named earlier; "it" is left alone (too often empty:
# "is it true that ...").
_SUBJECT = re.compile(r"\b(he|she|they|him|them)\b", re.IGNORECASE)
_POSSESSIVE = re.compile(r"\b(his|their)\b", re.IGNORECASE)
# "her" is an object ("met her") or a possessive ("her ministry"): possessive when a word follows
# that isn't a preposition, conjunction or the end of the question.
_HER = re.compile(r"\bher\b(?=(\s+(?!(?:to|in|on|at|for|with|about|from|by|and|or|after|before|when|that|if)\b)[a-z]\w*))?", re.IGNORECASE)
# A name: capitalised words (with inner "of", "de"...), e.g. "Zhang Dejiang", "Bo Xilai".
_NAME = re.compile(r"\b[A-Z][\w'’-]+(?:\s+(?:(?:of|de|da|van|von|al|bin)\s+)?[A-Z][\w'’-]+)*")
_NOT_NAMES = {
    "Who", "What", "When", "Where", "Why", "How", "Which", "Whom", "Whose", "Did", "Does", "Do", "Is", "Are",
    "Was", "Were", "Has", "Have", "Had", "Can", "Could", "Will", "Would", "Should", "The", "A", "An", "And",
    "In", "On", "At", "Of", "For", "To", "He", "She", "They", "His", "Her", "Their", "It", "Its", "I",
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February",
    "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
}
# "Who is the US Secretary of Defence?": the description its answer (a name) goes by.
_DESCRIPTION = re.compile(r"^\s*(?:who|what)\s+(?:is|was|are|were)\s+(the\s+[^?]+?)\s*\??\s*$", re.IGNORECASE)
# A name right after one of these is a place or a date, not whom "he" means.
_PLACE_BEFORE = re.compile(r"\b(?:in|at|to|from|near|into|across|on|since|until)\s+$", re.IGNORECASE)
# At most this many words: a longer question stands on its own.
ELLIPTICAL_WORDS = 3
# Answered turns the reader reads a follow-up with, newest first: the previous turn names what it
# refers to, the one before is the context a chat would show too (CoQA readers take two).
HISTORY_TURNS = 2
# Between the question and each earlier turn in the reader's input: plain text the tokenizer keeps,
# which no question uses.
HISTORY_SEPARATOR = " || "
# Words that lean on an earlier turn: a question holding one needs its history to be read.
_REFERRING = re.compile(
    r"\b(he|she|they|him|her|them|his|hers|their|theirs|it|its|there|then|this|these|those|else|also|too)\b",
    re.IGNORECASE,
)
_ELLIPTICAL_OPENING = re.compile(r"^\s*(and|but|so|or|what about|how about)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Turn:
    """One exchange: the question as asked, the answer's text ("" when the article didn't say),
    where the answer is (``span``, when known) and the article it was about (by default the span's).

    >>> Turn("Who won?", "Berg", Context("chess", 4, 8)).document_id
    'chess'
    """

    question: str
    answer: str
    span: Context | None = None
    document_id: str | None = None

    def __post_init__(self) -> None:
        if self.document_id is None and self.span is not None:
            object.__setattr__(self, "document_id", self.span.document_id)


@dataclass(frozen=True)
class Resolution:
    """How a question is read in its conversation: ``question`` for the reader, with references
    resolved; ``query`` for retrieval; ``near`` where the previous answer is, whose
    sentences a short, elliptical follow-up ("And India?") is read in too; ``article`` the article
    the conversation is about (the newest answer's), which a question asked of every article is
    read in first; ``wider_query`` what every article is then searched with, when that article has
    no confident answer (None: ``query``)."""

    question: str
    query: str
    near: Context | None = None
    article: str | None = None
    wider_query: str | None = None


def resolve(question: str, turns: Sequence[Turn]) -> Resolution:
    """``question`` read against the earlier ``turns`` (oldest first). With no earlier turn, the
    question is its own query and is read as it is."""
    if not turns:
        return Resolution(question, question)
    article = next((turn.document_id for turn in reversed(turns) if turn.answer and turn.document_id), None)
    if not needs_history(question):
        # It stands on its own: read and searched exactly as if asked first (in an archive, in the
        # conversation's article first, as if it were named).
        return Resolution(question, question, article=article, wider_query=question)
    answered = [turn for turn in turns if turn.answer]
    if not answered:  # only declined turns: nothing to lean on
        return Resolution(question, question, wider_query=question)
    previous = answered[-1]
    name = antecedent(turns)
    resolved = question
    if name:
        resolved = _HER.sub(lambda m: f"{name}'s" if m.group(1) else name, resolved)
        resolved = _POSSESSIVE.sub(f"{name}'s", resolved)
        resolved = _SUBJECT.sub(name, resolved)
    # A question whose pronoun was resolved names its subject: searched alone, it finds its own
    # sentence, which the earlier turn's words would outrank ("When did the US Secretary of
    # Defence arrive?"). Anything else leans on the earlier turn's words to be found.
    query = resolved if resolved != question else " ".join(part for part in (resolved, previous.question, previous.answer) if part)
    short = len(question.split()) <= ELLIPTICAL_WORDS
    near = previous.span if short or resolved != question else None
    # Beyond the conversation's article, the earlier turn would pull the search back to it: a
    # question that turns to another article is searched as if asked first. 400 of nyt_news_dev's
    # questions, each after a turn about another article, over 19k articles: F1 70.5 (71.0 asked
    # alone) against 56.4 searched with the earlier turn (bench/topic_switch.py). A short one ("with
    # who?") says nothing alone and keeps it: CoQA's CNN stories over the same archive, right
    # article 75.8% against 72.2% searched without it.
    wider_query = query if short else resolved
    return Resolution(resolved, query, near, article, wider_query)


def needs_history(question: str) -> bool:
    """Whether ``question`` leans on the conversation: it refers back ("he", "it", "there"), opens
    as a continuation ("And India?", "What about ...") or is too short to stand alone. Any other
    question is read exactly as if asked first.

    >>> needs_history("When did he arrive?"), needs_history("And India?"), needs_history("Why?")
    (True, True, True)
    >>> needs_history("Which company will build the jet engines?")
    False
    """
    return (
        _REFERRING.search(question) is not None
        or _ELLIPTICAL_OPENING.match(question) is not None
        or len(question.split()) <= ELLIPTICAL_WORDS
    )


def reader_question(question: str, turns: Sequence[Turn], history_turns: int = HISTORY_TURNS) -> str:
    """What the reader reads for ``question`` in its conversation: the question, then the newest
    ``history_turns`` answered turns (question and answer, newest first). A declined turn lends
    nothing; a question that doesn't need its history (``needs_history``) is read alone. Training
    reads its conversations through this same function (``qa.training.windows``); a reader trained
    without history (``ReaderSettings.history_turns`` 0) reads the question alone.

    >>> turns = [Turn("Who is the US Secretary of Defence?", "Lloyd J Austin III"), Turn("Who builds the engines?", "")]
    >>> reader_question("When did he arrive?", turns)
    'When did he arrive? || Who is the US Secretary of Defence? Lloyd J Austin III'
    >>> reader_question("When did Lloyd Austin arrive?", turns)
    'When did Lloyd Austin arrive?'
    """
    if not history_turns or not needs_history(question):
        return question
    answered = [turn for turn in turns if turn.answer][-history_turns:]
    return HISTORY_SEPARATOR.join([question] + [f"{turn.question} {turn.answer}" for turn in reversed(answered)])


def turns_about(turns: Sequence[Turn], document_id: str | None) -> list[Turn]:
    """The turns a question asked of ``document_id`` is read against: a turn about another article
    lends it nothing (None, or an archive asked whole: every turn).

    >>> turns = [Turn("Who won?", "Tomas Berg", Context("chess", 4, 14)), Turn("Who built it?", "Priya Nair", Context("bridge", 9, 19))]
    >>> [turn.answer for turn in turns_about(turns, "bridge")], len(turns_about(turns, None))
    (['Priya Nair'], 2)
    """
    if document_id is None or document_id == WHOLE_ARCHIVE:
        return list(turns)
    return [turn for turn in turns if turn.document_id in (None, document_id)]


def antecedent(turns: Sequence[Turn]) -> str | None:
    """What a pronoun most likely stands for, newest turn first: an answer that is a name, said
    the way its question described it when it was a "Who is the ...?" question (the article more
    likely calls him "the US Defence Secretary" where the question did); else the first name in a
    question that isn't a place ("in New Delhi"); None when no turn names anyone."""
    for turn in reversed(turns):
        if not turn.answer:  # a declined turn lends no names
            continue
        if _is_name(turn.answer):
            described = _DESCRIPTION.match(turn.question)
            return described.group(1) if described else turn.answer.strip()
        names = [
            name
            for match in _NAME.finditer(turn.question)
            if (name := _without_question_words(match.group()))
            and not _PLACE_BEFORE.search(turn.question[: match.start()])
        ]
        if names:
            return names[0]
    return None


def _without_question_words(run: str) -> str:
    """A run of capitalised words less the ones that aren't a name ("Did Zhang Dejiang" → "Zhang Dejiang")."""
    words = run.split()
    while words and words[0] in _NOT_NAMES:
        words = words[1:]
    return " ".join(words)


def _is_name(text: str) -> bool:
    words = text.split()
    return (
        0 < len(words) <= 4
        and all(word[0].isupper() or word in ("of", "de", "al", "bin", "and") for word in words)
        and words[0] not in _NOT_NAMES
    )
