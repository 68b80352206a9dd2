"""Answers about the whole article, made of the article's own sentences and names: a summary, the
main points, the people / organisations / places it names, its date and author.

News is written lead first: the first sentence is the summary most writers give, and lead-3 is the
baseline news summarizers are measured against. So a summary is the lead sentence and then the
article's most central sentences; its main points the most central sentences, none repeating
another, by each sentence's centrality (``qa.centrality``: LexRank over the sentences'
embeddings, worked out when the article was indexed). On nyt_news_dev that choice keeps 0.67 of
lead-3's sentences and 0.81 of LexRank-3's, where the chunk vectors the index holds gave 0.49 and
0.38 (closeness to their centroid) or 0.77 and 0.48 (LexRank over the chunks), and lead-3 itself
shares 0.52 with LexRank-3 (``bench/summaries.py``). Every sentence is cited where it stands, in
the article's order.

>>> sentences = ["Rain fell on Paris all day long.", "The Seine rose two metres by evening.",
...     "Cafes on the quays closed their terraces early.", "Trains stopped at noon across the city.",
...     "The mayor shut the riverside roads to traffic."]
>>> summary_sentences([0.2, 0.9, 0.1, 0.8, 0.85], sentences, count=3)
[0, 1, 4]
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from qa.answer import SUMMARY, Answer, Citation, Context
from qa.article_questions import ARCHIVE_SUMMARY, AUTHOR, DATE, ENTITY_KINDS, MAIN_POINTS, count_asked
from qa.centrality import MAX_EMBEDDED_SENTENCES, sentence_centrality
from qa.documents import Document
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
SCORED_ARTICLES_KEPT = 64
# Sentences of fewer words are headings, datelines or captions, not points.
MIN_POINT_WORDS = 5
_WORD = re.compile(r"[^\W_]+")
# A sentence opening on a pronoun or a connective leans on the one before it.
_LEANS_BACK = re.compile(
    r"[\W]*(he|she|it|they|them|his|her|its|their|this|that|these|those|there|but|and|so|also|however|"
    r"meanwhile|still|yet|instead|then|thus|both|such|another|other|others|the two|the latter|the former)\b",
    re.IGNORECASE,
)
_STOP = frozenset("the a an of to in on and or for is are was were be been by with at from that this it as its said".split())


def summary_sentences(centrality: Sequence[float], sentences: Sequence[str], count: int) -> list[int]:
    """The lead sentence (the first that can stand alone), then the most central others that repeat
    none chosen, ``count`` in all, in the article's order.

    >>> summary_sentences([0.2, 0.9, 0.1, 0.8], ["Rain fell on Paris all day long.", "He said the river would rise soon.",
    ...     "Trains stopped at noon across the city.", "The mayor closed the quays to traffic on Monday."], count=2)
    [0, 3]
    """
    words, usable = _usable(sentences)
    return sorted(_most_central(centrality, words, usable, count, [usable[0]]))


def main_point_sentences(centrality: Sequence[float], sentences: Sequence[str], count: int) -> list[int]:
    """The ``count`` most central sentences that can stand alone and repeat none chosen before
    them, in the article's order.

    >>> main_point_sentences([0.5, 0.9, 0.8, 0.1], ["Rain fell on Paris all day long.", "The Seine rose two metres by evening.",
    ...     "By evening the Seine rose two metres.", "Trains stopped at noon across the city."], count=2)
    [0, 1]
    """
    words, usable = _usable(sentences)
    return sorted(_most_central(centrality, words, usable, count, []))


def _usable(sentences: Sequence[str]) -> tuple[list[set[str]], list[int]]:
    """Each sentence's content words, and the sentences that can stand alone in a summary: long
    enough to be more than a heading, dateline or caption, and not leaning on the one before ("He
    said…", "But…", "That's because…": in a hand read of 20 summaries such sentences, cut from what
    they refer to, were the first reason a reader turned a summary down)."""
    words = [content_words(sentence) for sentence in sentences]
    usable = [i for i, sentence in enumerate(sentences) if len(words[i]) >= MIN_POINT_WORDS and not _LEANS_BACK.match(sentence)]
    return words, usable or list(range(len(sentences)))


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
    """Answers about whole articles; sentences are scored (``embed``: texts to unit vectors) and
    names found (``EntityFinder``) once per article."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray]) -> None:
        self.embed = embed
        self.entities = EntityFinder()
        self._scores: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def centrality(self, index: DocumentIndex) -> np.ndarray:
        """The article's sentences' centrality: as indexed, or (an index of an older format) worked
        out now and kept."""
        if index.centrality is not None:
            return index.centrality
        with self._lock:
            if (scores := self._scores.get(index.document.id)) is None:
                count = len(index.sentences)
                sentence_vectors = self.embed([s.text for s in index.sentences]) if count <= MAX_EMBEDDED_SENTENCES else None
                chunk_vectors = index.faiss_index.reconstruct_n(0, index.faiss_index.ntotal)
                scores = sentence_centrality(sentence_vectors, chunk_vectors, index.chunks, count)
                self._scores[index.document.id] = scores
                if len(self._scores) > SCORED_ARTICLES_KEPT:
                    self._scores.popitem(last=False)
            self._scores.move_to_end(index.document.id)
            return scores

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
        centrality = self.centrality(index)
        sentences = [sentence.text for sentence in index.sentences]
        # As many as the question asks for ("in one sentence", "the 3 main points"), else by the article's length.
        asked = count_asked(question)
        if kind == MAIN_POINTS:
            chosen = main_point_sentences(centrality, sentences, asked or _how_many(len(sentences), MAIN_POINTS_SENTENCES))
        else:
            chosen = summary_sentences(centrality, sentences, asked or _how_many(len(sentences), SUMMARY_SENTENCES))
        places = ((s.text, Context(document.id, s.start, s.end)) for s in (index.sentences[i] for i in chosen))
        citations = tuple(Citation(text, place, place) for text, place in places)
        separator = " " if kind == SUMMARY else "\n"
        return _answer(question, kind, document, separator.join(c.text for c in citations), citations)

    def _names(self, question: str, kind: str, index: DocumentIndex) -> Answer:
        document = index.document
        mentions = [m for m in self.entities.names(document.id, document.text) if m.label in LABELS[kind]]
        citations = []
        for mention in mentions[:NAMES_LISTED]:
            span = Context(document.id, mention.start, mention.end)
            citations.append(Citation(mention.name, span, _sentence_of(index, span)))
        if not citations:
            return _declined(question, kind, index)
        text = ", ".join(c.text for c in citations)
        if len(document.text) > MAX_CHARS:
            text += f" (named in its first {MAX_CHARS:,} characters)"
        return _answer(question, kind, document, text, tuple(citations))

    def _from_metadata(self, question: str, kind: str, index: DocumentIndex) -> Answer:
        """The date or author the article's page gave (``Document.meta``), where it gave one."""
        value = str(index.document.meta.get("date" if kind == DATE else "author") or "").strip()
        if not value:
            return _declined(question, kind, index)
        return _answer(question, kind, index.document, value, ())


    def archive_answer(self, question: str, corpus: Corpus) -> Answer:
        """"What are these articles about?": the archive's most central articles, each cited by its
        lead sentence."""
        centrality = corpus.centrality()
        citations = []
        for number in np.argsort(-centrality, kind="stable")[:ARTICLES_LISTED]:
            index = corpus.view(corpus.ids[number])
            lead = index.sentences[0]
            place = Context(index.document.id, lead.start, lead.end)
            citations.append(Citation(lead.text, place, place, index.document.title))
        text = "\n".join(f"{c.document_title}: {c.text}" for c in citations)
        return _answer(question, ARCHIVE_SUMMARY, Document("", f"{len(corpus):,} articles", ""), text, tuple(citations))


def _sentence_of(index: DocumentIndex, span: Context) -> Context:
    """The sentence ``span`` begins in (``span`` itself, if it begins in none)."""
    for sentence in index.sentences:
        if sentence.start <= span.start < sentence.end:
            return Context(span.document_id, sentence.start, sentence.end)
    return span


def _answer(question: str, kind: str, document: Document, text: str, citations: tuple[Citation, ...]) -> Answer:
    first = citations[0] if citations else None
    return Answer(
        question=question,
        text=text,
        score=1.0,
        answerable=True,
        sentence="",
        span=None,
        sentence_span=first.sentence_span if first else None,
        document_id=document.id,
        document_title=document.title,
        document_byline=document.byline,
        kind=kind,
        citations=citations,
    )


def _declined(question: str, kind: str, index: DocumentIndex) -> Answer:
    """The article doesn't say (no date or author given, no names of that kind)."""
    return Answer(question, "", 0.0, False, "", None, None, index.document.id, index.document.title, kind=kind)
