"""Answers about the whole article, made of the article's own sentences and names: a summary, the
main points, the people / organisations / places it names, its date and author.

News is written lead first: the first sentence is the summary most writers give, and lead-3 is the
baseline news summarizers are measured against. So a summary is the lead sentence and then the
article's most central sentences; its main points the most central sentences, none repeating
another. A sentence's centrality is its closeness to the article's centroid (MEAD's centroid
score, Radev et al. 2004) over the chunk vectors the index holds already: nothing is embedded at
question time, and the cost is linear in the article's length. Every sentence is cited where it
stands, in the article's order.

>>> words = [{f"w{i}-{j}" for j in range(8)} for i in range(5)]  # five sentences, no word shared
>>> summary_sentences([0.2, 0.9, 0.1, 0.8, 0.85], words, count=3)
[0, 1, 4]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from qa.answer import SUMMARY, Answer, Citation
from qa.article_questions import ARCHIVE_SUMMARY, AUTHOR, DATE, ENTITY_KINDS, MAIN_POINTS
from qa.entities import LABELS, MAX_CHARS, EntityFinder
from qa.errors import DocumentError, QuestionError
from qa.store import Corpus, DocumentIndex

# Sentences in a summary: two for a short article, four for a long one.
SUMMARY_SENTENCES = ((8, 2), (40, 3), (None, 4))  # (fewer sentences than, take)
MAIN_POINTS_SENTENCES = ((8, 2), (20, 3), (None, 5))
NAMES_LISTED = 10
ARTICLES_LISTED = 5
# A sentence sharing more than this share of its words with one already chosen repeats it.
MAX_WORD_OVERLAP = 0.5
# Sentences of fewer words are headings, datelines or captions, not points.
MIN_POINT_WORDS = 6
_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset("the a an of to in on and or for is are was were be been by with at from that this it as its said".split())


def sentence_centrality(index: DocumentIndex) -> np.ndarray:
    """Each sentence's closeness to the article's centroid: the mean cosine of the chunks it is in
    with the mean of all chunk vectors."""
    vectors = index.faiss_index.reconstruct_n(0, index.faiss_index.ntotal)
    centroid = vectors.mean(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
    chunk_scores = vectors @ centroid
    totals, counts = np.zeros(len(index.sentences)), np.zeros(len(index.sentences))
    for chunk, score in zip(index.chunks, chunk_scores):
        totals[chunk.first : chunk.last + 1] += score
        counts[chunk.first : chunk.last + 1] += 1
    return totals / np.maximum(counts, 1)


def summary_sentences(centrality: Sequence[float], words: Sequence[set[str]], count: int) -> list[int]:
    """The lead sentence (the first long enough to be one), then the most central others that
    repeat none chosen, ``count`` in all, in the article's order."""
    usable = [i for i in range(len(centrality)) if len(words[i]) >= MIN_POINT_WORDS] or list(range(len(centrality)))
    chosen = [usable[0]]
    return sorted(_most_central(centrality, words, usable, count, chosen))


def main_point_sentences(centrality: Sequence[float], words: Sequence[set[str]], count: int) -> list[int]:
    """The ``count`` most central sentences that repeat none chosen before them, in the article's order.

    >>> main_point_sentences([0.5, 0.9, 0.8, 0.1], [set("a b c d e f".split()), set("g h i j k l".split()),
    ...     set("g h i j k m".split()), set("n o p q r s".split())], count=2)
    [0, 1]
    """
    usable = [i for i in range(len(centrality)) if len(words[i]) >= MIN_POINT_WORDS] or list(range(len(centrality)))
    return sorted(_most_central(centrality, words, usable, count, []))


def _most_central(centrality: Sequence[float], words: Sequence[set[str]], usable: list[int], count: int, chosen: list[int]) -> list[int]:
    for i in sorted(usable, key=lambda i: (-centrality[i], i)):
        if len(chosen) >= count:
            break
        if i not in chosen and all(_overlap(words[i], words[j]) <= MAX_WORD_OVERLAP for j in chosen):
            chosen.append(i)
    return chosen


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(min(len(a), len(b)), 1)


def _how_many(sentences: int, table: tuple) -> int:
    return next(take for below, take in table if below is None or sentences < below)


def content_words(sentence: str) -> set[str]:
    return {word for word in _WORD.findall(sentence.lower()) if word not in _STOP}


class Overview:
    """Answers about whole articles; names are found once per article (``EntityFinder``)."""

    def __init__(self) -> None:
        self.entities = EntityFinder()

    def reply(self, question: str, kind: str, article: DocumentIndex | None, archive: Corpus | None) -> Answer:
        """The answer about ``article``, or (None, or "what are these articles about?") about the
        archive: its most central articles. Names, points, dates and authors are asked of one article."""
        if article is not None and (kind != ARCHIVE_SUMMARY or archive is None):
            # "What are these articles about?" of a single article is what it is about.
            return self.answer(question, SUMMARY if kind == ARCHIVE_SUMMARY else kind, article)
        if archive is None:
            raise DocumentError("no article is loaded: add one first")
        if kind not in (SUMMARY, ARCHIVE_SUMMARY):
            raise QuestionError("Ask that of one article: choose one, or ask it after an answer from one.")
        return self.archive_answer(question, archive)

    def answer(self, question: str, kind: str, index: DocumentIndex) -> Answer:
        """The answer to an article-level ``question`` of ``kind`` about the article ``index``."""
        document = index.document
        if kind in (DATE, AUTHOR):
            return self._from_metadata(question, kind, index)
        if kind in ENTITY_KINDS:
            return self._names(question, kind, index)
        centrality = sentence_centrality(index)
        words = [content_words(sentence.text) for sentence in index.sentences]
        if kind == MAIN_POINTS:
            chosen = main_point_sentences(centrality, words, _how_many(len(words), MAIN_POINTS_SENTENCES))
        else:
            chosen = summary_sentences(centrality, words, _how_many(len(words), SUMMARY_SENTENCES))
        citations = tuple(
            Citation(s.text, s.start, s.end, s.start, s.end) for s in (index.sentences[i] for i in chosen)
        )
        separator = " " if kind == SUMMARY else "\n"
        return _answer(question, kind, document.id, document.title, separator.join(c.text for c in citations), citations)

    def _names(self, question: str, kind: str, index: DocumentIndex) -> Answer:
        document = index.document
        mentions = [m for m in self.entities.names(document.id, document.text) if m.label in LABELS[kind]]
        citations = []
        for mention in mentions[:NAMES_LISTED]:
            sentence = _sentence_of(index, mention.start)
            citations.append(Citation(mention.name, mention.start, mention.end, sentence[0], sentence[1]))
        if not citations:
            return _declined(question, kind, index)
        text = ", ".join(c.text for c in citations)
        if len(document.text) > MAX_CHARS:
            text += f" (named in its first {MAX_CHARS:,} characters)"
        return _answer(question, kind, document.id, document.title, text, tuple(citations))

    def _from_metadata(self, question: str, kind: str, index: DocumentIndex) -> Answer:
        """The date or author the article's page gave (``Document.meta``), where it gave one."""
        value = str(index.document.meta.get("date" if kind == DATE else "author") or "").strip()
        if not value:
            return _declined(question, kind, index)
        return _answer(question, kind, index.document.id, index.document.title, value, ())


    def archive_answer(self, question: str, corpus: Corpus) -> Answer:
        """"What are these articles about?": the archive's most central articles, each cited by its
        lead sentence."""
        centrality = corpus.centrality()
        citations = []
        for number in np.argsort(-centrality, kind="stable")[:ARTICLES_LISTED]:
            index = corpus.view(corpus.ids[number])
            lead = index.sentences[0]
            citations.append(Citation(lead.text, lead.start, lead.end, lead.start, lead.end, index.document.id, index.document.title))
        text = "\n".join(f"{c.document_title}: {c.text}" for c in citations)
        return _answer(question, ARCHIVE_SUMMARY, "", f"{len(corpus):,} articles", text, tuple(citations))


def _sentence_of(index: DocumentIndex, offset: int) -> tuple[int, int]:
    for sentence in index.sentences:
        if sentence.start <= offset < sentence.end:
            return sentence.start, sentence.end
    return offset, offset


def _answer(question: str, kind: str, document_id: str, title: str, text: str, citations: tuple[Citation, ...]) -> Answer:
    first = citations[0] if citations else None
    return Answer(
        question=question,
        text=text,
        score=1.0,
        answerable=True,
        sentence="",
        sentence_start=first.sentence_start if first else None,
        sentence_end=first.sentence_end if first else None,
        start=None,
        end=None,
        document_id=document_id,
        document_title=title,
        kind=kind,
        citations=citations,
    )


def _declined(question: str, kind: str, index: DocumentIndex) -> Answer:
    """The article doesn't say (no date or author given, no names of that kind)."""
    return Answer(question, "", 0.0, False, "", None, None, None, None, index.document.id, index.document.title, kind=kind)
