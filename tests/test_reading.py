"""The reading plan on plain data: which contexts are read in which round, how spans combine."""

from __future__ import annotations

from types import SimpleNamespace

from qa.answer import Context
from qa.library import LoadedArticle
from qa.reader import Span
from qa.reading import reading_plan, spans_read_together


def _fake_hits(document_id: str, windows: list[tuple[int, int]], in_archive: bool = False) -> list:
    """Hits over a fake document of ten 9-character sentences, sentence n at [10n, 10n + 9);
    found by the document's own search, or (``in_archive``) by a search of the whole archive."""
    sentences = [SimpleNamespace(start=10 * n, end=10 * n + 9) for n in range(10)]
    document, index = SimpleNamespace(id=document_id), SimpleNamespace(sentences=sentences)
    loaded = LoadedArticle(document, index, "archive" if in_archive else document_id)
    return [
        (loaded, SimpleNamespace(context_first=a, context_last=b, context=Context(document_id, 10 * a, 10 * b + 9)))
        for a, b in windows
    ]


def _ranges(contexts: list) -> list[tuple[str, int, int]]:
    return [(context.document_id, context.start, context.end) for context in contexts]


def test_reading_plan_reads_top_hits_first_then_unread_runs():
    # Top hit 4-6; others 2-4 and 6-8 overlap it; 0-0 stands apart: runs 0, 2-3 and 7-8.
    first, rest = reading_plan(_fake_hits("a", [(4, 6), (2, 4), (6, 8), (0, 0)]))
    assert _ranges(first) == [("a", 40, 69)]
    assert _ranges(rest) == [("a", 0, 9), ("a", 20, 39), ("a", 70, 89)]
    # Two documents: each one's top hit first, then each one's rest.
    first, rest = reading_plan(_fake_hits("a", [(4, 6), (5, 7)]) + _fake_hits("b", [(0, 2), (1, 3)]))
    assert _ranges(first) == [("a", 40, 69), ("b", 0, 29)]
    assert _ranges(rest) == [("a", 70, 79), ("b", 30, 39)]
    # Other hits inside the top one: nothing more to read.
    assert reading_plan(_fake_hits("a", [(3, 6), (4, 5)]))[1] == []
    # One search of a whole archive: its top hit first, whatever its article, then the others.
    hits = _fake_hits("b", [(0, 2)], in_archive=True) + _fake_hits("a", [(4, 6)], in_archive=True)
    first, rest = reading_plan(hits + _fake_hits("b", [(1, 3)], in_archive=True))
    assert _ranges(first) == [("b", 0, 29)]
    assert _ranges(rest) == [("b", 30, 39), ("a", 40, 69)]


def test_spans_of_two_reads_combine_as_one():
    first = [Span("x", 0, 1, context_index=0, score=8.0, no_answer_score=5.0)]  # margin 3
    more = [
        Span("y", 0, 1, context_index=0, score=7.0, no_answer_score=-2.0),  # margin 9
        Span("z", 2, 3, context_index=1, score=4.0, no_answer_score=-2.0),  # margin 6
    ]
    combined = spans_read_together(first, more, offset=1)
    # Ranked by margin, each against its own context's "no answer": x has the highest score, but
    # its context is the likeliest not to hold the answer.
    assert [(s.text, s.context_index, s.margin) for s in combined] == [("y", 1, 9.0), ("z", 2, 6.0), ("x", 0, 3.0)]
    assert spans_read_together([], more, offset=1)[0].context_index == 1
