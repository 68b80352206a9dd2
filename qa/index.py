"""The persisted FAISS index of an article's chunks, under ``index/<document id>/``.

Layout: ``index/<id>/CURRENT`` names the live version directory ``index/<id>/<version>/`` holding
``faiss.index``, ``chunks.json`` and ``manifest.json``. A build writes a new version directory
under a temporary name, renames it into place, then swaps ``CURRENT`` with an atomic
``os.replace``: a build killed at any point leaves the previous version live.

Loading checks the manifest (format, embedder, chunking, content hash) and every file's size and
checksum; a stale, mismatched, truncated or corrupted index is rebuilt, with one log line saying why.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from qa.chunking import Chunk, ChunkingConfig, Sentence, chunk_text
from qa.documents import Document
from qa.embedding import Embedder
from qa.errors import DocumentError

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT_FILE = "CURRENT"
DATA_FILES = ("faiss.index", "chunks.json")
PROGRESS_ABOVE_CHUNKS = 200


@dataclass(frozen=True)
class IndexSettings:
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    # Above this many chunks an approximate index (HNSW) replaces the exact flat one: exact search
    # is instant for an article, but grows linearly with a large collection.
    approximate_above: int = 20_000


@dataclass
class DocumentIndex:
    """An article's sentences, chunks and chunk vectors, ready to search."""

    document: Document
    sentences: list[Sentence]
    chunks: list[Chunk]
    faiss_index: faiss.Index
    manifest: dict

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk index, cosine similarity) of the ``k`` nearest chunks, best first."""
        k = min(k, len(self.chunks))
        if k <= 0:
            return []
        scores, ids = self.faiss_index.search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


class StaleIndex(Exception):
    """Why a stored index can't be used (the message goes into the rebuild log line)."""


class MissingIndex(StaleIndex):
    """No index was ever built for this document here."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_hash(document: Document) -> str:
    return hashlib.sha256(f"{document.id}\0{document.title}\0{document.text}".encode()).hexdigest()


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class IndexStore:
    """Builds, persists and loads the indexes of documents under ``root``."""

    def __init__(self, root: Path, embedder: Embedder, settings: IndexSettings = IndexSettings()) -> None:
        self.root = Path(root)
        self.embedder = embedder
        self.settings = settings

    def expected_manifest(self, document: Document) -> dict:
        """The manifest fields a stored index must match to be reused."""
        return {
            "format_version": FORMAT_VERSION,
            "embedder": self.embedder.id,
            "dimension": self.embedder.dimension,
            "chunking": asdict(self.settings.chunking),
            "approximate_above": self.settings.approximate_above,
            "content_hash": content_hash(document),
        }

    def load_or_build(self, document: Document) -> DocumentIndex:
        """The stored index of ``document`` if it is whole and current; otherwise a fresh build."""
        try:
            return self.load(document)
        except MissingIndex:
            logger.info("no index for %r yet: building", document.title)
        except StaleIndex as reason:
            logger.warning("index for %r %s: rebuilding", document.title, reason)
        return self.build(document)

    def load(self, document: Document) -> DocumentIndex:
        """Load and verify; raises StaleIndex saying what is wrong."""
        home = self.root / document.id
        try:
            version = (home / CURRENT_FILE).read_text().strip()
        except FileNotFoundError:
            raise MissingIndex("is missing") from None
        directory = home / version
        try:
            manifest = json.loads((directory / "manifest.json").read_text())
        except (OSError, ValueError) as error:
            raise StaleIndex(f"has an unreadable manifest ({error.__class__.__name__})") from None
        expected = self.expected_manifest(document)
        changed = [key for key, value in expected.items() if manifest.get(key) != value]
        if changed:
            raise StaleIndex(f"is stale ({', '.join(changed)} changed)")
        for name in DATA_FILES:
            path, recorded = directory / name, manifest.get("files", {}).get(name, {})
            if not path.exists():
                raise StaleIndex(f"is missing {name}")
            if path.stat().st_size != recorded.get("size"):
                raise StaleIndex(f"is truncated ({name} has {path.stat().st_size} bytes, expected {recorded.get('size')})")
            if _sha256(path) != recorded.get("sha256"):
                raise StaleIndex(f"is corrupted ({name} checksum mismatch)")
        try:
            faiss_index = faiss.read_index(str(directory / "faiss.index"))
            stored = json.loads((directory / "chunks.json").read_text())
            sentences = [Sentence(**s) for s in stored["sentences"]]
            chunks = [Chunk(**c) for c in stored["chunks"]]
        except (RuntimeError, ValueError, KeyError, TypeError) as error:
            raise StaleIndex(f"is unreadable ({error.__class__.__name__})") from None
        if faiss_index.ntotal != len(chunks):
            raise StaleIndex(f"is inconsistent ({faiss_index.ntotal} vectors for {len(chunks)} chunks)")
        return DocumentIndex(document, sentences, chunks, faiss_index, manifest)

    def build(self, document: Document) -> DocumentIndex:
        """Chunk, embed and index ``document``, and persist it atomically."""
        sentences, chunks = chunk_text(document.id, document.text, self.settings.chunking)
        if not chunks:
            raise DocumentError(f"{document.title!r} has no sentences to index")
        vectors = self.embedder.embed([c.text for c in chunks], progress=len(chunks) > PROGRESS_ABOVE_CHUNKS)
        faiss_index = self._faiss_index(vectors)
        manifest = {
            **self.expected_manifest(document),
            "document_title": document.title,
            "faiss_type": type(faiss_index).__name__,
            "chunks": len(chunks),
            "sentences": len(sentences),
            "versions": {p: _version(p) for p in ("article-qa", "faiss-cpu", "sentence-transformers")},
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self._persist(document, sentences, chunks, faiss_index, manifest)
        return DocumentIndex(document, sentences, chunks, faiss_index, manifest)

    def _faiss_index(self, vectors: np.ndarray) -> faiss.Index:
        dimension = vectors.shape[1]
        if len(vectors) > self.settings.approximate_above:
            index = faiss.IndexHNSWFlat(dimension, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = 64
        else:
            index = faiss.IndexFlatIP(dimension)
        index.add(vectors)
        return index

    def _persist(self, document, sentences, chunks, faiss_index, manifest) -> None:
        home = self.root / document.id
        home.mkdir(parents=True, exist_ok=True)
        version = f"v{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        temporary = home / f".tmp-{version}"
        temporary.mkdir()
        try:
            faiss.write_index(faiss_index, str(temporary / "faiss.index"))
            (temporary / "chunks.json").write_text(
                json.dumps({"sentences": [asdict(s) for s in sentences], "chunks": [asdict(c) for c in chunks]})
            )
            manifest["files"] = {
                name: {"size": (temporary / name).stat().st_size, "sha256": _sha256(temporary / name)}
                for name in DATA_FILES
            }
            (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2))
            os.rename(temporary, home / version)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        pointer = home / f".{CURRENT_FILE}-{version}"
        pointer.write_text(version)
        os.replace(pointer, home / CURRENT_FILE)  # the one step that switches versions
        for stale in home.iterdir():
            if stale.name in (version, CURRENT_FILE):
                continue
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
        logger.info("indexed %r: %d chunks in %s", document.title, len(chunks), home / version)
