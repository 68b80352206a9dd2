"""The reading plan, pure: which contexts the reader reads for a question's hits, in which rounds,
and how spans of different contexts compare. Plain data in, plain data out; no model.

>>> from types import SimpleNamespace as NS
>>> sentences = [NS(start=0, end=10), NS(start=11, end=20), NS(start=21, end=30)]
>>> article = NS(document=NS(id="a"), index=NS(sentences=sentences), search="a")
>>> hit = lambda first, last: NS(context_first=first, context_last=last, context=Context("a", sentences[first].start, sentences[last].end))
>>> first, rest = reading_plan([(article, hit(0, 1)), (article, hit(1, 2))])
>>> first, rest
([Context(document_id='a', start=0, end=20)], [Context(document_id='a', start=21, end=30)])
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Protocol

from qa.answer import Context
from qa.documents import Document
from qa.reader import Span
from qa.retrieval import Hit
from qa.store import DocumentIndex
from qa.text import normalize_answer

SPANS_KEPT = 10  # per reading: enough to find an answer's alternatives among distinct spans


class LoadedArticle(Protocol):
    """An article as the plan reads it (``qa.library.LoadedArticle``): its text and sentences, and
    which search found it (``search``: its own id, or "archive")."""

    document: Document
    index: DocumentIndex

    @property
    def search(self) -> str: ...


@dataclass(frozen=True)
class Reading:
    """What retrieval and the reader found for a question, before deciding to answer or abstain.

    ``spans`` are best first; ``span.context_index`` indexes ``contexts``, the pieces of text
    read, each of an article in ``articles`` (by id).
    """

    question: str
    hits: list[tuple[LoadedArticle, Hit]]
    contexts: list[Context]
    spans: list[Span]
    articles: dict[str, LoadedArticle]
    # True when the top hits' spans were confident enough that the other hits were left unread.
    stopped_early: bool = False
    # The question the reader read: ``question``, or its beginning when it is longer than the reader takes.
    read_as: str = ""

    @cached_property  # read by best, margin and answer(): worked out once per question
    def candidates(self) -> list[Span]:
        """The answer first, then other answers (``distinct_spans``)."""
        return distinct_spans(self.spans)

    @property
    def best(self) -> Span | None:
        return self.candidates[0] if self.spans else None

    @property
    def margin(self) -> float:
        """How far the best span beats "no answer" (-inf when nothing was read)."""
        return self.best.margin if self.spans else float("-inf")


def distinct_spans(spans: list[Span]) -> list[Span]:
    """``spans`` (best first) less any with the same words as, or overlapping, a better one (an
    alternative is another answer, not a piece of one).

    >>> spans = [Span("Sunday", 0, 6, 0, 9.0, 0.0), Span("sunday", 3, 9, 1, 8.0, 0.0), Span("Sun", 0, 3, 0, 7.0, 0.0)]
    >>> [span.text for span in distinct_spans(spans)]
    ['Sunday']
    """
    kept: list[Span] = []
    for span in spans:
        key = normalize_answer(span.text)
        if not key or any(
            key == normalize_answer(other.text)
            or (other.context_index == span.context_index and span.start < other.end and other.start < span.end)
            for other in kept
        ):
            continue
        kept.append(span)
    return kept or spans[:1]


def reading_plan(hits: list[tuple[LoadedArticle, Hit]]) -> tuple[list[Context], list[Context]]:
    """Reader contexts in two rounds, so that no sentence is read twice: the top hit of each
    search (one per article searched alone, one for the whole archive), then the sentences of the
    other hits outside those, as runs of consecutive sentences of an article. Hits come best first
    within each search."""
    leaders: dict[str, tuple[LoadedArticle, Hit]] = {}
    for loaded, hit in hits:
        leaders.setdefault(loaded.search, (loaded, hit))
    first = [hit.context for _, hit in leaders.values()]
    read: dict[str, set[int]] = {}
    for loaded, hit in leaders.values():
        read.setdefault(loaded.document.id, set()).update(range(hit.context_first, hit.context_last + 1))
    others: dict[str, tuple[LoadedArticle, set[int]]] = {}
    for loaded, hit in hits:
        others.setdefault(loaded.document.id, (loaded, set()))[1].update(range(hit.context_first, hit.context_last + 1))
    rest = []
    for document_id, (loaded, numbers) in others.items():
        unread = sorted(numbers - read.get(document_id, set()))
        sentences = loaded.index.sentences
        # Consecutive numbers share number - position: one group per run.
        for _, run in itertools.groupby(enumerate(unread), key=lambda pair: pair[1] - pair[0]):
            run_numbers = [number for _, number in run]
            rest.append(Context(document_id, sentences[run_numbers[0]].start, sentences[run_numbers[-1]].end))
    return first, rest


def read_already(context: Context, contexts: list[Context]) -> bool:
    """True when one of ``contexts`` holds ``context``."""
    return any(other.holds(context) for other in contexts)


def spans_read_together(first: list[Span], more: list[Span], offset: int) -> list[Span]:
    """The spans of two reads as if their contexts had been read in one: ``more``'s context
    indexes follow ``first``'s, and all are ranked by margin (each against its own context)."""
    spans = first + [replace(span, context_index=span.context_index + offset) for span in more]
    return sorted(spans, key=lambda span: span.margin, reverse=True)[:SPANS_KEPT]


def sentence_bounds(index: DocumentIndex, start: int, end: int) -> tuple[int, int]:
    """Start of the sentence holding ``start`` to the end of the one holding ``end``."""
    sentences = index.sentences
    first = max(bisect.bisect_right(sentences, start, key=lambda s: s.start) - 1, 0)
    last = max(bisect.bisect_right(sentences, max(end - 1, start), key=lambda s: s.start) - 1, first)
    return sentences[first].start, sentences[last].end
