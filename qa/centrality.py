"""How central each sentence of an article is: what its summary and main points are chosen by
(``qa.overview``). Worked out when the article is indexed (``qa.store_build.prepare``) and stored
with its sentences, so that a question about the whole article has nothing left to embed: on
nyt_news_dev, a summary's first question took 51.7 ms (its sentences embedded then) against
27.9 ms for a span answer (docs/benchmarks.md).

A sentence's centrality is its LexRank score (Erkan and Radev 2004) over the sentences' embeddings;
an article of more sentences than ``MAX_EMBEDDED_SENTENCES`` is scored by its chunk vectors'
closeness to their centroid instead (MEAD, Radev et al. 2004): linear, and nothing more to embed.

>>> vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
>>> sentence_centrality(vectors, vectors, [], 3).round(2).tolist()  # the middle one is near both
[0.29, 0.42, 0.29]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.chunking import Chunk

# Articles of up to this many sentences have them embedded for LexRank (about 1.5 s for 300 on two
# cores, once per article); longer ones are scored by their chunk vectors.
MAX_EMBEDDED_SENTENCES = 300
LEXRANK_THRESHOLD = 0.1  # Erkan and Radev's edge threshold
LEXRANK_DAMPING = 0.85
LEXRANK_ITERATIONS = 50


def sentence_centrality(
    sentence_vectors: np.ndarray | None, chunk_vectors: np.ndarray, chunks: Sequence[Chunk], sentence_count: int
) -> np.ndarray:
    """Each sentence's centrality: LexRank over ``sentence_vectors`` (unit rows) when given and
    no more than ``MAX_EMBEDDED_SENTENCES``, else the centroid score of the chunks it is in."""
    if sentence_vectors is not None and len(sentence_vectors) <= MAX_EMBEDDED_SENTENCES:
        return lexrank(sentence_vectors)
    return centroid_centrality(chunk_vectors, chunks, sentence_count)


def lexrank(vectors: np.ndarray) -> np.ndarray:
    """LexRank scores of unit ``vectors``: PageRank over the graph of pairs closer than
    ``LEXRANK_THRESHOLD`` (cosine), by power iteration.

    >>> lexrank(np.zeros((0, 2))).tolist()
    []
    """
    if len(vectors) == 0:
        return np.zeros(0)
    graph = (vectors @ vectors.T > LEXRANK_THRESHOLD).astype(np.float64)
    graph /= graph.sum(axis=1, keepdims=True).clip(min=1)
    scores = np.full(len(vectors), 1 / len(vectors))
    for _ in range(LEXRANK_ITERATIONS):
        scores = (1 - LEXRANK_DAMPING) / len(vectors) + LEXRANK_DAMPING * graph.T @ scores
    return scores


def centroid_centrality(chunk_vectors: np.ndarray, chunks: Sequence[Chunk], sentence_count: int) -> np.ndarray:
    """Each sentence's closeness to the article's centroid: the mean cosine of the chunks it is in
    with the mean of all chunk vectors (MEAD's centroid score).

    >>> chunks = [Chunk("d", 0, "A. B.", 0, 5, 0, 1), Chunk("d", 1, "C.", 6, 8, 2, 2)]
    >>> centroid_centrality(np.array([[1.0, 0.0], [0.0, 1.0]]), chunks, 3).round(2).tolist()
    [0.71, 0.71, 0.71]
    """
    totals, counts = np.zeros(sentence_count), np.zeros(sentence_count)
    if len(chunk_vectors) == 0:
        return totals
    vectors = np.asarray(chunk_vectors, dtype=np.float32)
    centroid = vectors.mean(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
    for chunk, score in zip(chunks, vectors @ centroid):
        totals[chunk.first : chunk.last + 1] += score
        counts[chunk.first : chunk.last + 1] += 1
    return totals / np.maximum(counts, 1)
