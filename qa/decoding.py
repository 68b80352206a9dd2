"""Span decoding: from a window's start/end logits to scored answer spans, with clean boundaries.

Pure functions of plain data, apart from the model: the reader hands each window's logits and the
character span of the word under every token here.

>>> import re

import numpy as np
>>> starts = np.array([0.0, 1.0, 5.0, 0.5])     # [CLS], then three context tokens
>>> ends = np.array([0.0, 0.5, 1.0, 4.0])
>>> words = [None, (0, 3), (4, 9), (10, 15)]    # "The quick brown": each token's word, in characters
>>> spans, no_answer = decode_spans(starts, ends, words, top_k_tokens=3, max_answer_tokens=5)
>>> max(spans, key=spans.get), no_answer
((4, 15), 0.0)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
# Straight and typographic double quotes; a span must hold both ends of a quotation or neither.
QUOTES = frozenset('"“”„«»')
# How far outside a span its unpaired quote's partner may be and still be taken in: a word or two.
NEARBY_QUOTE_CHARS = 20
# Never an edge of an answer: a span that starts or ends with these (and spaces) is trimmed.
DANGLING = frozenset(" \t\n,;:—–-/&(")
DANGLING_END = DANGLING | frozenset("([{")
DANGLING_START = DANGLING | frozenset(")]}.!?")
# A span's last word ending in a full stop with no other inside it: the stop is the sentence's.
_SENTENCE_FULL_STOP = re.compile(r"(?<![.\w])\w{2,}\.$")
# A span runs on past its answer into a clause when it goes on past a comma, semicolon or dash
# followed by one of these: "Monday, when the talks ended" answers "When?" with "Monday".
CLAUSE_WORDS = frozenset(
    "which who whom whose where when while because although though after before since until as "
    "but including according saying said says".split()
)


def decode_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    word_spans: Sequence[tuple[int, int] | None],
    *,
    top_k_tokens: int,
    max_answer_tokens: int,
) -> tuple[dict[tuple[int, int], float], float]:
    """The candidate spans of one window and its no-answer score.

    ``word_spans[i]`` is the (start, end) in characters of the context word token ``i`` belongs to,
    None for a token outside the context (question, [CLS], [SEP], padding). Spans pair each of the
    ``top_k_tokens`` best starts with each of the best ends at most ``max_answer_tokens`` later,
    aligned to whole words (as the transformers pipeline does); the score of a span is its start
    logit plus its end logit, the best over the token pairs that give it. "No answer" scores the
    [CLS] token's start + end logits.
    """
    no_answer = float(start_logits[0] + end_logits[0])
    context = np.flatnonzero([span is not None for span in word_spans])
    spans: dict[tuple[int, int], float] = {}
    if context.size == 0:
        return spans, no_answer
    k = min(top_k_tokens, context.size)
    top_starts = context[np.argsort(start_logits[context])[::-1][:k]]
    top_ends = context[np.argsort(end_logits[context])[::-1][:k]]
    for s in top_starts:
        for e in top_ends:
            if e < s or e - s + 1 > max_answer_tokens:
                continue
            key = (word_spans[s][0], word_spans[e][1])
            score = float(start_logits[s] + end_logits[e])
            if score > spans.get(key, float("-inf")):
                spans[key] = score
    return spans, no_answer


def clean_boundaries(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``text[start:end]`` cut to a clean answer, or None when nothing of it is left.

    A clean span holds both ends of any quotation inside it, or neither (a span that is one whole
    quotation loses its quotes); does not start or end with dangling punctuation; and stops before a
    comma, semicolon or dash that opens a clause. A span never crosses a paragraph break: no answer
    runs from one paragraph, table row or list item into the next.

    >>> text = 'He met "Rajnath Singh," the minister, on Sunday, when talks began.'
    >>> text[slice(*clean_boundaries(text, 7, 23))]
    'Rajnath Singh'
    >>> text[slice(*clean_boundaries(text, 41, 65))]
    'Sunday'
    >>> clean_boundaries("Visitors: 120.\\n\\nDay: Tuesday; Visitors: 95.", 10, 44) is None  # across paragraphs
    True
    >>> [text[slice(*clean_boundaries(text, 0, len(text)))] for text in ("cast doubt on Michael Brown.", "the C.I.A.")]
    ['cast doubt on Michael Brown', 'the C.I.A.']
    """
    if _PARAGRAPH_BREAK.search(text, start, end):
        return None
    start, end = _cut_clause(text, start, end)
    while True:
        before = (start, end)
        while start < end and text[start] in DANGLING_START:
            start += 1
        while end > start and text[end - 1] in DANGLING_END:
            end -= 1
        start, end = _balance_quotes(text, start, end)
        if (start, end) == before:
            break
    if end - start > 1 and text[end - 1] == "." and _SENTENCE_FULL_STOP.search(text, start, end):
        end -= 1  # the sentence's full stop, not the answer's ("Brown." -> "Brown"; "C.I.A." stays)
    return (start, end) if start < end and text[start:end].strip() else None


def _balance_quotes(text: str, start: int, end: int) -> tuple[int, int]:
    """Unwrap a span that is one whole quotation. Where a quote is unpaired, take in its partner
    when it lies just outside the span (the reader stopped a word short of the closing quote);
    otherwise drop an unpaired edge quote, or, for one inside the span, keep the side of it that
    holds more words."""
    quotes = [i for i in range(start, end) if text[i] in QUOTES]
    if quotes == [start, end - 1]:
        return start + 1, end - 1
    if len(quotes) % 2 == 0:
        if not quotes or not _inside_quotation(text, start):
            return start, end
        # Paired in number, not in fact: the span closes one quotation and opens another. Take in
        # the quotes just outside it ('Phantom," "Cats' -> '"Phantom," "Cats"'); failing that,
        # keep the stretch between its quotes with the most words.
        before, after = _nearby_quote(text, start - 1, -1), _nearby_quote(text, end, 1)
        if before is not None and after is not None:
            return before, after + 1
        bounds = [start - 1, *quotes, end]
        pieces = [(left + 1, right) for left, right in zip(bounds, bounds[1:]) if left + 1 < right]
        return max(pieces, key=lambda piece: len(_WORD.findall(text[piece[0] : piece[1]])), default=(start, start))
    after, before = _nearby_quote(text, end, 1), _nearby_quote(text, start - 1, -1)
    extended = [span for span in ((start, after + 1 if after is not None else None), (before, end)) if None not in span]
    if extended:
        return min(extended, key=lambda span: span[1] - span[0])
    if quotes[0] == start:
        return start + 1, end
    if quotes[-1] == end - 1:
        return start, end - 1
    # An odd quote inside: the span crosses into or out of a quotation.
    inner = quotes[0] if len(quotes) == 1 else quotes[-1]
    left, right = text[start:inner], text[inner + 1 : end]
    return (start, inner) if len(left.split()) >= len(right.split()) else (inner + 1, end)


def _inside_quotation(text: str, position: int) -> bool:
    """Whether ``position`` lies inside a quotation: an odd number of double quotes before it in
    its paragraph.

    >>> _inside_quotation('He said "yes" and "no', 9), _inside_quotation('He said "yes" and', 14)
    (True, False)
    """
    paragraph_start = text.rfind("\n", 0, position) + 1
    return sum(text[i] in QUOTES for i in range(paragraph_start, position)) % 2 == 1


def _nearby_quote(text: str, position: int, step: int) -> int | None:
    """The first quote from ``position`` on in direction ``step``, if within NEARBY_QUOTE_CHARS and
    the same sentence."""
    for _ in range(NEARBY_QUOTE_CHARS):
        if not 0 <= position < len(text) or text[position] == "\n":
            return None
        if text[position] in QUOTES:
            return position
        if text[position] in ".!?" and text[position + 1 : position + 2] in (" ", ""):
            return None
        position += step
    return None


def _cut_clause(text: str, start: int, end: int) -> tuple[int, int]:
    """Stop before the first ", which …"-like break after the span's first word."""
    position = start
    while True:
        breaks = [i for i in (text.find(mark, position, end) for mark in (",", ";", " — ", " – ")) if i >= 0]
        if not breaks:
            return start, end
        cut = min(breaks)
        following = text[cut + 1 : end].lstrip(" —–").split(maxsplit=1)
        if cut > start and following and following[0].lower().strip('"“') in CLAUSE_WORDS:
            return start, cut
        position = cut + 1
