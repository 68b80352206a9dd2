"""Hybrid retrieval over one article, or over a whole archive (``ArchiveRetriever``): dense (FAISS)
and BM25 rankings fused, by reciprocal rank within one article, by weighted scores across articles.

Each hit carries its chunk's sentences: that text is what the reader reads.

BM25 over the sentences of a single article is a tiny corpus, where a term in most sentences (the
article's subject, "INDUS-X") gets an inverse document frequency near zero under some BM25
variants and would vanish from the query. The Lucene variant used here keeps every idf positive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import bm25s
import numpy as np

from qa.chunking import Chunk
from qa.embedding import TextEmbedder
from qa.lexical import best_rows, tokenize
from qa.store import DocumentIndex


@dataclass(frozen=True)
class RetrievalSettings:
    top_k: int = 3  # hits handed to the reader
    # Over a whole archive the reader chooses among 10 hits. nyt_news_dev's questions asked of its
    # 100 articles among 18,896 SQuAD paragraphs, hits by weighted fusion, each read alone, the top
    # one first and the others when it isn't confident: reading up to 5, F1 68.2 and the right
    # article 83.4%; up to 10, 69.4 and 84.8% (end to end 68.2, 84.3%; p50 85, p95 380 ms on a slow
    # afternoon, when a 160-token window took 40 ms: the 34% of questions not answered confidently
    # from the top hit read up to 9 more).
    archive_top_k: int = 10
    candidates: int = 20  # taken from each ranking before fusion
    rrf_k: int = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009)
    # Across articles, dense and BM25 are fused by score (``weighted_fusion``), cosine and BM25
    # weighing the same. Reciprocal ranks, as within one article, tie often across articles (a
    # chunk only dense found at rank r against one only BM25 found at rank r) and lose what the
    # scores say: nyt_news_dev's questions among 18,896 SQuAD paragraphs put their right article
    # first 67.1% of the time by RRF, 78.9% by weighted scores (the same on the even and odd half of
    # the articles at dense weights 0.4-0.7; dense alone 53.3%, BM25 alone 73.6%).
    archive_dense_weight: float = 0.5


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk and the reader context around it (``document.text[context_start:context_end]``)."""

    chunk: Chunk
    score: float
    dense_rank: int | None
    bm25_rank: int | None
    context_first: int  # first sentence of the context
    context_last: int
    context_start: int
    context_end: int


def reciprocal_rank_fusion(rankings: list[list[int]], rrf_k: int) -> dict[int, float]:
    """Fused score per item: the sum over rankings of 1 / (rrf_k + rank), ranks from 1.

    >>> reciprocal_rank_fusion([[7, 3], [3]], rrf_k=60)[3] == 1 / 62 + 1 / 61
    True
    """
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (rrf_k + rank)
    return fused


def weighted_fusion(cosines: np.ndarray, bm25: np.ndarray, best_bm25: float, dense_weight: float) -> np.ndarray:
    """Fused scores of candidates: ``dense_weight`` × cosine + the rest × BM25 as a share of the
    question's best BM25 score, which puts BM25 (a sum over the question's terms) on the scale of a
    cosine whatever the question's length. A question with no BM25 match is ranked by cosine.

    >>> weighted_fusion(np.array([0.8, 0.4]), np.array([0.0, 6.0]), best_bm25=6.0, dense_weight=0.5).tolist()
    [0.4, 0.7]
    """
    lexical = bm25 / best_bm25 if best_bm25 > 0 else np.zeros_like(cosines)
    return dense_weight * cosines + (1.0 - dense_weight) * lexical


def build_bm25(index: DocumentIndex) -> bm25s.BM25 | None:
    """A BM25 index of the article's chunks; None when no chunk has a term that isn't a stop word
    ("It is what it is."): such an article is searched by meaning alone."""
    tokens = tokenize([c.text for c in index.chunks])
    if not any(tokens):
        return None
    bm25 = bm25s.BM25(method="lucene")
    bm25.index(tokens, show_progress=False)
    return bm25


class Retriever:
    """Finds the chunks of one indexed article that best match a question.

    ``bm25`` is the article's BM25 index (``build_bm25``, None for none) when it was built
    elsewhere, e.g. in the ingestion worker; by default ("build") it is built here.
    """

    def __init__(
        self,
        index: DocumentIndex,
        embedder: TextEmbedder,
        settings: RetrievalSettings = RetrievalSettings(),
        *,
        bm25: bm25s.BM25 | None | Literal["build"] = "build",
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._bm25 = build_bm25(index) if bm25 == "build" else bm25

    def dense_ranking(self, question: str) -> list[int]:
        vector = self.embedder.embed_query(question)
        return [i for i, _ in self.index.search(vector, self.settings.candidates)]

    def bm25_ranking(self, question: str) -> list[int]:
        query = tokenize([question])
        if not query[0] or self._bm25 is None:
            return []
        k = min(self.settings.candidates, len(self.index.chunks))
        documents, scores = self._bm25.retrieve(query, k=k, show_progress=False)
        # A chunk sharing no term with the question scores 0: it is not a BM25 match at all.
        return [int(d) for d, s in zip(documents[0], scores[0]) if s > 0]

    def search(self, question: str, top_k: int | None = None) -> list[Hit]:
        """The ``top_k`` best chunks, best first."""
        top_k = top_k or self.settings.top_k
        dense, lexical = self.dense_ranking(question), self.bm25_ranking(question)
        fused = reciprocal_rank_fusion([dense, lexical], self.settings.rrf_k)
        dense_rank = {c: r for r, c in enumerate(dense, start=1)}
        bm25_rank = {c: r for r, c in enumerate(lexical, start=1)}
        best = sorted(fused, key=lambda c: (-fused[c], c))[:top_k]
        return [hit_in(self.index, c, fused[c], dense_rank.get(c), bm25_rank.get(c)) for c in best]


def hit_in(index: DocumentIndex, chunk_index: int, score: float, dense_rank: int | None, bm25_rank: int | None) -> Hit:
    """Chunk ``chunk_index`` of an article as a hit: the reader reads the chunk's sentences."""
    chunk = index.chunks[chunk_index]
    sentences = index.sentences
    first, last = chunk.first, chunk.last
    return Hit(
        chunk=chunk,
        score=score,
        dense_rank=dense_rank,
        bm25_rank=bm25_rank,
        context_first=first,
        context_last=last,
        context_start=sentences[first].start,
        context_end=sentences[last].end,
    )


class ChunkCorpus(Protocol):
    """What the archive retriever searches (``qa.store.Corpus``): every article's chunks in rows."""

    def dense(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def bm25_scores(self, query: str) -> np.ndarray: ...

    def cosines(self, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray: ...

    def locate(self, row: int) -> tuple[str, int]: ...

    def view(self, document_id: str) -> DocumentIndex: ...


class ArchiveRetriever:
    """Hybrid search over a whole archive: the question is embedded once, and chunks are ranked
    across articles by the weighted scores of dense and BM25 retrieval (``weighted_fusion``)."""

    def __init__(self, archive: ChunkCorpus, embedder: TextEmbedder, settings: RetrievalSettings = RetrievalSettings()) -> None:
        self.archive = archive
        self.embedder = embedder
        self.settings = settings

    def search(self, question: str, top_k: int | None = None) -> list[tuple[DocumentIndex, Hit]]:
        """The ``top_k`` best chunks of any article, best first, each with its article."""
        top_k = top_k or self.settings.archive_top_k
        vector = self.embedder.embed_query(question)
        dense = [row for row, _ in self.archive.dense(vector, self.settings.candidates)]
        bm25 = self.archive.bm25_scores(question)
        lexical = best_rows(bm25, self.settings.candidates).tolist()
        candidates = np.union1d(np.array(dense, dtype=np.int64), np.array(lexical, dtype=np.int64))
        cosines = self.archive.cosines(vector, candidates)
        fused = weighted_fusion(cosines, bm25[candidates], float(bm25.max(initial=0.0)), self.settings.archive_dense_weight)
        dense_rank = {c: r for r, c in enumerate(dense, start=1)}
        bm25_rank = {c: r for r, c in enumerate(lexical, start=1)}
        hits = []
        for position in np.lexsort((candidates, -cosines, -fused))[:top_k]:  # ties by cosine, then row
            row = int(candidates[position])
            document_id, number = self.archive.locate(row)
            view = self.archive.view(document_id)
            hit = hit_in(view, number, float(fused[position]), dense_rank.get(row), bm25_rank.get(row))
            hits.append((view, hit))
        return hits
