"""The persisted FAISS index of an article's chunks, under ``<root>/<document id>/``.

Layout: ``<root>/<id>/CURRENT`` names the live version directory ``<root>/<id>/<version>/``, which
holds ``faiss.index``, ``chunks.json``, ``document.json`` (title and text, so an index can be loaded
by its id alone) and ``manifest.json``. A build writes a new version under a
temporary name, renames it into place, then switches ``CURRENT`` with one atomic ``os.replace``: a
build killed at any point leaves the previous version live and whole.

Loading checks the manifest (format, embedder, chunking, content hash) and every file's size and
checksum; a stale, truncated or corrupted index is rebuilt, with one log line saying why.

Where the folder can't be written (read-only, full), a build keeps its index in memory and says so
in the log; ``DocumentIndex.persisted`` is then False. The store stays under a disk quota by
removing the least recently used articles' indexes (``evict``), and a first build killed before its
switch leaves nothing behind once ``remove_incomplete`` has run.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from qa.chunking import Chunk, ChunkingConfig, Sentence, chunk_text
from qa.documents import Document
from qa.embedding import CHUNK_VECTORS, SENTENCE_MEAN, WINDOW_TEXT, TextEmbedder, chunk_vectors
from qa.errors import DocumentError
from qa.versions import (
    CURRENT_FILE,
    MANIFEST_FILE,
    file_damage,
    is_version_name,
    publish_version,
)

logger = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: the manifest names how chunk vectors are made (qa.embedding.CHUNK_VECTORS)
DOCUMENT_FILE = "document.json"
DATA_FILES = ("faiss.index", "chunks.json", DOCUMENT_FILE)
PROGRESS_ABOVE_TEXTS = 200
# Texts (chunks or sentences) embedded between two progress reports: at most 4 s on two cores in fp32.
PROGRESS_EVERY_TEXTS = 256
# Only names this module makes are followed from CURRENT, so a damaged pointer can't lead elsewhere.


@dataclass(frozen=True)
class IndexSettings:
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    # Above this many chunks an approximate index (HNSW) replaces the exact flat one: exact search
    # is instant for an article, but its cost grows linearly with the number of chunks.
    approximate_above: int = 20_000
    # Uploaded articles' indexes are removed, least recently used first, beyond this much disk.
    # An index takes about 25 bytes per character of text (69 KB for a 3 KB article).
    disk_quota_bytes: int = 2 * 1024**3
    # How chunk vectors are made (qa.embedding): a single article's windows' own text.
    chunk_vectors: str = WINDOW_TEXT

    def __post_init__(self) -> None:
        if self.chunk_vectors not in CHUNK_VECTORS:
            raise ValueError(f"chunk_vectors must be one of {CHUNK_VECTORS}, not {self.chunk_vectors!r}")


@dataclass
class DocumentIndex:
    """An article's sentences, chunks and chunk vectors, ready to search."""

    document: Document
    sentences: list[Sentence]
    chunks: list[Chunk]
    faiss_index: faiss.Index  # inner product over unit vectors, i.e. cosine
    manifest: dict
    persisted: bool = True  # False: kept in memory only, the folder could not be written

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk index, cosine similarity) of the ``k`` nearest chunks, best first."""
        k = min(k, len(self.chunks))
        if k <= 0:
            return []
        query = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
        scores, ids = self.faiss_index.search(query, k)
        # HNSW may return fewer than k neighbours, padded with id -1.
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


class _Unusable(Exception):
    """Why a stored index can't be used; the message completes "index for X ..."."""


class _Missing(_Unusable):
    """No index was ever built for this document here: a first build, not a problem."""


def _tree_size(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


def _content_hash(document: Document) -> str:
    return hashlib.sha256(f"{document.id}\0{document.title}\0{document.text}".encode()).hexdigest()


def _package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:  # e.g. run from a checkout that isn't installed
        return "unknown"


class IndexStore:
    """Builds, persists and loads the indexes of documents under ``root``."""

    def __init__(self, root: Path, embedder: TextEmbedder, settings: IndexSettings = IndexSettings()) -> None:
        self.root = Path(root)
        self.embedder = embedder
        self.settings = settings

    def load_or_build(self, document: Document, progress: Callable[[int, int], None] | None = None) -> DocumentIndex:
        """The stored index of ``document`` if it is whole and current; otherwise a fresh build."""
        try:
            index = self._load(document)
        except _Missing:
            logger.info("no index for %r yet: building", document.title)
        except _Unusable as reason:
            logger.warning("index for %r (%s) %s: rebuilding", document.title, document.id, reason)
        else:
            self.touch(document.id)
            return index
        return self.build(document, progress)

    def load_stored(self, document_id: str) -> DocumentIndex:
        """The stored index of the document ``document_id``, its text included; DocumentError when
        there is none (never built here, evicted) or it can't be used."""
        home = self.root / document_id
        try:
            version = (home / CURRENT_FILE).read_text().strip()
            stored = json.loads((home / version / DOCUMENT_FILE).read_text()) if is_version_name(version) else None
            document = Document(**stored)
        except (OSError, ValueError, TypeError) as error:
            logger.info("no usable stored index for %s: %s", document_id, error)
            raise DocumentError(
                f"no article {document_id[:60]!r} is stored here (it may have been removed to save space): please add it again"
            ) from None
        try:
            index = self._load(document)
        except _Unusable as reason:
            logger.warning("stored index for %s %s", document_id, reason)
            raise DocumentError("that article's stored index is damaged: please add it again") from None
        self.touch(document_id)
        return index

    def build(self, document: Document, progress: Callable[[int, int], None] | None = None) -> DocumentIndex:
        """Chunk, embed and index ``document``, and persist it atomically (in memory only where
        the folder can't be written). ``progress(done, total)`` hears of every batch of chunks."""
        sentences, chunks = chunk_text(document.id, document.text, self.settings.chunking)
        if not chunks:
            raise DocumentError(f"{document.title!r} has no sentences: there is nothing to index")
        if self.settings.chunk_vectors == SENTENCE_MEAN:
            vectors = chunk_vectors(self._embed([s.text for s in sentences], progress), chunks)
        else:
            vectors = self._embed([c.text for c in chunks], progress)
        faiss_index = self._faiss_index(vectors)
        manifest = {
            **self._expected_manifest(document),
            "title": document.title,
            "faiss_type": type(faiss_index).__name__,
            "chunks": len(chunks),
            "sentences": len(sentences),
            "versions": {
                "faiss": faiss.__version__,
                "sentence-transformers": _package_version("sentence-transformers"),
                "article-qa": _package_version("article-qa"),
            },
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        try:
            self._persist(document, sentences, chunks, faiss_index, manifest)
        except OSError:
            logger.warning(
                "could not write the index of %r under %s: keeping it in memory only",
                document.title, self.root, exc_info=True,
            )
            return DocumentIndex(document, sentences, chunks, faiss_index, manifest, persisted=False)
        return DocumentIndex(document, sentences, chunks, faiss_index, manifest)

    def _embed(self, texts: list[str], progress: Callable[[int, int], None] | None) -> np.ndarray:
        if progress is None:
            return self.embedder.embed(texts, progress=len(texts) > PROGRESS_ABOVE_TEXTS)
        parts = []
        for first in range(0, len(texts), PROGRESS_EVERY_TEXTS):
            parts.append(self.embedder.embed(texts[first : first + PROGRESS_EVERY_TEXTS]))
            progress(min(first + PROGRESS_EVERY_TEXTS, len(texts)), len(texts))
        return np.concatenate(parts)

    def writable(self) -> bool:
        """True when indexes can be written here (the folder exists or can be made, and takes a file)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{uuid.uuid4().hex[:8]}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            return False
        return True

    def touch(self, document_id: str) -> None:
        """Mark the document's index as just used (for ``evict``); a read-only folder is left as it is."""
        try:
            os.utime(self.root / document_id / CURRENT_FILE)
        except OSError:
            pass

    def stored_ids(self) -> list[str]:
        """Documents with a live index here, least recently used first."""
        try:
            homes = [home for home in self.root.iterdir() if (home / CURRENT_FILE).is_file()]
        except OSError:
            return []
        return [home.name for home in sorted(homes, key=lambda home: (home / CURRENT_FILE).stat().st_mtime)]

    def evict(self, keep: set[str] = frozenset()) -> list[str]:
        """Remove the least recently used indexes, except those in ``keep``, until the store is
        under its disk quota; the ids removed."""
        sizes = {document_id: _tree_size(self.root / document_id) for document_id in self.stored_ids()}
        total, removed = sum(sizes.values()), []
        for document_id, size in sizes.items():  # least recently used first
            if total <= self.settings.disk_quota_bytes:
                break
            if document_id in keep:
                continue
            shutil.rmtree(self.root / document_id, ignore_errors=True)
            total -= size
            removed.append(document_id)
        if removed:
            logger.info("disk quota: removed the indexes of %d least recently used articles", len(removed))
        return removed

    def _expected_manifest(self, document: Document) -> dict:
        """The manifest fields a stored index must match to be reused."""
        return {
            "format_version": FORMAT_VERSION,
            "embedder": self.embedder.id,
            "dimension": self.embedder.dimension,
            "chunking": asdict(self.settings.chunking),
            "chunk_vectors": self.settings.chunk_vectors,
            "content_hash": _content_hash(document),
        }

    def _faiss_type(self, chunk_count: int) -> type[faiss.Index]:
        return faiss.IndexHNSWFlat if chunk_count > self.settings.approximate_above else faiss.IndexFlatIP

    def _faiss_index(self, vectors: np.ndarray) -> faiss.Index:
        dimension = vectors.shape[1]
        if self._faiss_type(len(vectors)) is faiss.IndexHNSWFlat:
            index = faiss.IndexHNSWFlat(dimension, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = 64  # recall over speed: the default 16 misses neighbours; persisted
        else:
            index = faiss.IndexFlatIP(dimension)
        index.add(vectors)
        return index

    def _load(self, document: Document) -> DocumentIndex:
        """The verified stored index; raises _Unusable saying what is wrong."""
        home = self.root / document.id
        if not (home / CURRENT_FILE).exists():
            raise _Missing()
        try:
            return self._load_version(document, home, (home / CURRENT_FILE).read_text().strip())
        except FileNotFoundError as error:
            raise _Unusable(f"is missing {Path(error.filename or '?').name}") from None
        # Anything the checks below don't name (unreadable bytes, odd JSON shapes) is still damage.
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            raise _Unusable(f"is unreadable ({error.__class__.__name__}: {error})") from None

    def _load_version(self, document: Document, home: Path, version: str) -> DocumentIndex:
        if not is_version_name(version) or not (home / version).is_dir():
            raise _Unusable(f"is missing (CURRENT names no version directory: {version[:40]!r})")
        directory = home / version
        try:
            manifest = json.loads((directory / MANIFEST_FILE).read_text())
        except ValueError:
            raise _Unusable("is corrupted (manifest.json is not JSON)") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            raise _Unusable("is corrupted (manifest.json is not an index manifest)")
        expected = self._expected_manifest(document)
        changed = [key.replace("_", " ") for key, value in expected.items() if manifest.get(key) != value]
        if changed:
            raise _Unusable(f"is stale ({', '.join(changed)} changed)")
        for name in DATA_FILES:
            if damage := file_damage(directory, name, manifest["files"].get(name)):
                raise _Unusable(f"is {damage[0]} ({damage[1]})")
        faiss_index = faiss.read_index(str(directory / "faiss.index"))
        stored = json.loads((directory / "chunks.json").read_text())
        sentences = [Sentence(**s) for s in stored["sentences"]]
        chunks = [Chunk(**c) for c in stored["chunks"]]
        if faiss_index.ntotal != len(chunks):
            raise _Unusable(f"is inconsistent ({faiss_index.ntotal} vectors for {len(chunks)} chunks)")
        if not isinstance(faiss_index, wanted := self._faiss_type(len(chunks))):
            raise _Unusable(f"is stale (approximate_above now asks for {wanted.__name__})")
        return DocumentIndex(document, sentences, chunks, faiss_index, manifest)

    def _persist(
        self,
        document: Document,
        sentences: list[Sentence],
        chunks: list[Chunk],
        faiss_index: faiss.Index,
        manifest: dict,
    ) -> None:
        def write(folder: Path) -> tuple[dict, Sequence[str]]:
            faiss.write_index(faiss_index, str(folder / "faiss.index"))
            stored = {"sentences": [asdict(s) for s in sentences], "chunks": [asdict(c) for c in chunks]}
            (folder / "chunks.json").write_text(json.dumps(stored))
            (folder / DOCUMENT_FILE).write_text(json.dumps(asdict(document), ensure_ascii=False))
            return manifest, DATA_FILES

        # One build at a time per document: the Assistant serialises them, and a CLI rebuild is a
        # deliberate act.
        directory, _ = publish_version(self.root / document.id, write)
        logger.info("indexed %r: %d chunks in %s", document.title, len(chunks), directory)
