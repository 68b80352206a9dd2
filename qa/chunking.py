"""Sentence segmentation with exact character offsets, and windows of consecutive sentences.

The reader is trained on, and at question time reads, windows of 1-4 consecutive sentences, so
training (``qa.training.train``), evaluation (``qa.training.evaluate``) and the chatbot all cut text here.

>>> [s.text for s in split_sentences("New Delhi: INDUS-X was launched. It aims high.")]
['New Delhi: INDUS-X was launched.', 'It aims high.']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sentencex

from qa.config import ChunkingConfig

# sentencex (Wikimedia's rule-based segmenter) already keeps most abbreviations together, but splits
# after a few title abbreviations that are common in news ("Sec. Def. Austin", "Gen. Smith").
_TITLE_ABBREVIATIONS = re.compile(
    r"(?:^|\s)(?:Sec|Def|Gen|Lt|Col|Maj|Capt|Sgt|Adm|Gov|Sen|Rep|Rev|Hon|Pres|Amb|Supt|Insp|Cdr|"
    r"Brig|Cmdr|Prof|Dr|Mr|Mrs|Ms|St|Jr|Sr|No|Nos|Vol|Art|Fig|approx|vs|etc|i\.e|e\.g)\.$"
)


@dataclass(frozen=True)
class Chunk:
    """Sentences ``first..last`` of document ``document_id``: ``document.text[start:end] == text``."""

    document_id: str
    index: int
    text: str
    start: int
    end: int
    first: int
    last: int


@dataclass(frozen=True)
class Sentence:
    """One sentence of a text: ``text == source[start:end]``, with no surrounding whitespace."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Window:
    """Consecutive sentences ``first..last`` (inclusive) of a text, sliced as one context."""

    text: str
    start: int
    end: int
    first: int
    last: int


# A line break is a sentence boundary when the next line is a list item or the line before ends like
# a sentence; other single line breaks are hard wrapping inside a sentence.
_LINE_BOUNDARY = re.compile(r"(?<=[.!?:;\"\u201d])[ \t]*\n|\n(?=[ \t]*(?:[-*\u2022\u2013]|\d+[.)])[ \t])")


def _segments(text: str) -> list[tuple[int, int]]:
    """Raw (start, end) pieces from sentencex, cut again at list-item and sentence-end line breaks."""
    pieces = []
    for boundary in sentencex.get_sentence_boundaries("en", text):
        start, end = boundary["start_index"], boundary["end_index"]
        for line_break in _LINE_BOUNDARY.finditer(text, start, end):
            pieces.append((start, line_break.end()))
            start = line_break.end()
        pieces.append((start, end))
    return pieces


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences; offsets index ``text`` exactly.

    >>> [s.text for s in split_sentences("Sec. Def. Lloyd J. Austin III met PM Modi. They spoke.")]
    ['Sec. Def. Lloyd J. Austin III met PM Modi.', 'They spoke.']
    """
    sentences: list[Sentence] = []
    for raw_start, raw_end in _segments(text):
        chunk = text[raw_start:raw_end]
        stripped = chunk.strip()
        if not stripped:
            continue
        start = raw_start + (len(chunk) - len(chunk.lstrip()))
        end = start + len(stripped)
        previous = sentences[-1] if sentences else None
        # Undo a split after a title abbreviation ("Gen. Smith") or before a lower-case word
        # ("$3.5 bn. in aid"): news sentences start with a capital, digit or quote.
        if (
            previous is not None
            and "\n" not in text[previous.end : start]
            and (_TITLE_ABBREVIATIONS.search(previous.text) or stripped[0].islower())
        ):
            sentences[-1] = Sentence(text[previous.start : end], previous.start, end)
        else:
            sentences.append(Sentence(stripped, start, end))
    return sentences


def window(text: str, sentences: list[Sentence], first: int, last: int) -> Window:
    """The slice of ``text`` from the start of sentence ``first`` to the end of sentence ``last``."""
    start, end = sentences[first].start, sentences[last].end
    return Window(text[start:end], start, end, first, last)


def sliding_windows(text: str, sentences: list[Sentence], size: int, overlap: int) -> list[Window]:
    """Windows of ``size`` sentences, consecutive windows sharing ``overlap`` sentences.

    >>> text = "A one. B two. C three. D four."
    >>> [w.text for w in sliding_windows(text, split_sentences(text), size=2, overlap=1)]
    ['A one. B two.', 'B two. C three.', 'C three. D four.']
    """
    if not sentences:
        return []
    if not 0 <= overlap < size:
        raise ValueError(f"need 0 <= overlap < size, got size={size} overlap={overlap}")
    step = size - overlap
    last_start = max(len(sentences) - size, 0)
    starts = list(range(0, last_start + 1, step))
    if starts[-1] != last_start:
        starts.append(last_start)
    return [window(text, sentences, s, min(s + size, len(sentences)) - 1) for s in starts]


def chunk_text(document_id: str, text: str, config: ChunkingConfig) -> tuple[list[Sentence], list[Chunk]]:
    """The sentences of ``text`` and its chunks, as ``config`` sets them."""
    sentences = split_sentences(text)
    windows = sliding_windows(text, sentences, config.window_sentences, config.overlap_sentences)
    chunks = [
        Chunk(document_id, index, w.text, w.start, w.end, w.first, w.last) for index, w in enumerate(windows)
    ]
    return sentences, chunks
