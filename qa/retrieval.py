"""Hybrid retrieval: one ``Retriever`` over any ``ChunkSource`` (a single article's
``DocumentIndex``, or a ``Corpus`` of many), with an optional document filter. Dense (FAISS) and
BM25 rankings are fused by reciprocal rank within one article, by weighted scores across articles.

Each hit carries its chunk's sentences: that text is what the reader reads.

BM25 over the sentences of a single article is a tiny corpus, where a term in most sentences (the
article's subject, "INDUS-X") gets an inverse document frequency near zero under some BM25
variants and would vanish from the query. The Lucene variant used here keeps every idf positive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.answer import Context
from qa.chunking import Chunk
from qa.config import RetrievalSettings
from qa.embedding import TextEmbedder
from qa.lexical import best_rows
from qa.store import DocumentIndex


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk and the reader ``context`` around it: its sentences ``context_first`` to
    ``context_last``."""

    chunk: Chunk
    score: float
    dense_rank: int | None
    bm25_rank: int | None
    context_first: int
    context_last: int
    context: Context


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


class ChunkSource(Protocol):
    """What a retriever searches, in chunk rows: one article (``qa.store.DocumentIndex``, rows are
    its chunks) or a corpus of many (``qa.store.Corpus``, each article's chunks in a run of rows)."""

    def __len__(self) -> int: ...  # articles

    def dense(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def bm25_scores(self, query: str) -> np.ndarray: ...

    def cosines(self, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray: ...

    def rows(self, document_id: str) -> range: ...

    def locate(self, row: int) -> tuple[str, int]: ...

    def view(self, document_id: str) -> DocumentIndex: ...


class Retriever:
    """Finds the chunks that best match a question, in one article or across many.

    Within one article (a source of one, or a source filtered to one ``document_id``) the dense
    and BM25 rankings are fused by reciprocal rank; across articles by weighted scores
    (``RetrievalSettings.archive_dense_weight`` says why).
    """

    def __init__(self, embedder: TextEmbedder, settings: RetrievalSettings = RetrievalSettings()) -> None:
        self.embedder = embedder
        self.settings = settings

    def search(
        self, source: ChunkSource, question: str, top_k: int | None = None, document_id: str | None = None
    ) -> list[tuple[DocumentIndex, Hit]]:
        """The ``top_k`` best chunks of ``source`` (of its article ``document_id`` alone, when
        given), best first, each with its article."""
        vector = self.embedder.embed_query(question)
        bm25 = source.bm25_scores(question)
        if document_id is None and len(source) > 1:
            return self._across(source, vector, bm25, top_k or self.settings.archive_top_k)
        rows = source.rows(document_id) if document_id is not None else range(len(bm25))
        if document_id is None:
            dense = [row for row, _ in source.dense(vector, self.settings.candidates)]
        else:  # a few hundred rows at most: their exact cosines
            cosines = source.cosines(vector, np.arange(rows.start, rows.stop))
            dense = [rows.start + int(i) for i in np.argsort(-cosines, kind="stable")[: self.settings.candidates]]
        lexical = (rows.start + best_rows(bm25[rows.start : rows.stop], self.settings.candidates)).tolist()
        fused = reciprocal_rank_fusion([dense, lexical], self.settings.rrf_k)
        best = sorted(fused, key=lambda row: (-fused[row], row))[: top_k or self.settings.top_k]
        return self._hits(source, best, [fused[row] for row in best], dense, lexical)

    def _across(self, source: ChunkSource, vector: np.ndarray, bm25: np.ndarray, top_k: int) -> list[tuple[DocumentIndex, Hit]]:
        dense = [row for row, _ in source.dense(vector, self.settings.candidates)]
        lexical = best_rows(bm25, self.settings.candidates).tolist()
        candidates = np.union1d(np.array(dense, dtype=np.int64), np.array(lexical, dtype=np.int64))
        cosines = source.cosines(vector, candidates)
        fused = weighted_fusion(cosines, bm25[candidates], float(bm25.max(initial=0.0)), self.settings.archive_dense_weight)
        order = np.lexsort((candidates, -cosines, -fused))[:top_k]  # ties by cosine, then row
        return self._hits(source, [int(candidates[i]) for i in order], [float(fused[i]) for i in order], dense, lexical)

    @staticmethod
    def _hits(
        source: ChunkSource, rows: list[int], scores: list[float], dense: list[int], lexical: list[int]
    ) -> list[tuple[DocumentIndex, Hit]]:
        dense_rank = {row: rank for rank, row in enumerate(dense, start=1)}
        bm25_rank = {row: rank for rank, row in enumerate(lexical, start=1)}
        hits = []
        for row, score in zip(rows, scores):
            document_id, number = source.locate(row)
            view = source.view(document_id)
            hits.append((view, hit_in(view, number, score, dense_rank.get(row), bm25_rank.get(row))))
        return hits


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
        context=Context(index.document.id, sentences[first].start, sentences[last].end),
    )
