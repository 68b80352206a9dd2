"""An archive: any number of articles in one corpus index, under one folder.

``<root>/CURRENT`` names the live version ``<root>/<version>/``, which holds:

- ``vectors.npy``: every chunk's unit vector (float16, one row per chunk), memory-mapped: dense
  hits are re-scored exactly from it, and an article's own vectors are read from it;
- ``faiss.index``: exact inner product over the float16 vectors (a float16 scalar quantiser, as
  ``vectors.npy`` stores them) up to ``ArchiveSettings.exact_up_to`` chunks, compressed and
  approximate above (IVF with product quantisation), memory-mapped; which one is recorded in the
  manifest;
- ``archive.sqlite``: the articles (title, source, text, sentence offsets), the chunks (a row
  per vector) and the BM25 terms (term → column). SQLite rather than Arrow/Parquet because a question needs a few rows by key (its
  hits' chunks and articles), not columns: an indexed lookup reads them without loading the
  archive's text (about 100 MB for 19k articles) into memory; and it is in the standard library;
- ``bm25_data.npy``, ``bm25_indices.npy``, ``bm25_indptr.npy``: each term's BM25 score in each
  chunk that has it, as a sparse matrix by term (as bm25s computes it), memory-mapped. The terms
  are looked up in SQLite rather than held in a dictionary: with word pairs an archive of 19k
  articles has 1 M terms, which in a Python dictionary took 235 MB more of the server's memory;
- ``manifest.json``: format, embedder, chunking, index kind, counts, the set of documents, and
  every file's size and sha256.

Articles are added, replaced (same source, new text) and removed by writing a new version: the
vectors of articles already there are carried over, only new ones are embedded. As for a single
article's index (``qa.index``), the version is written under a temporary name, renamed into place,
and ``CURRENT`` switched by one atomic ``os.replace``: a build killed at any point leaves the last
good archive live.

For example::

    archive = update_archive("news/", embedder, prepare(documents, embedder))
    archive.dense(embedder.embed(["Who won?"])[0], k=5)
    # -> [(1234, 0.71), ...]

"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import faiss
import numpy as np

from qa.chunking import Chunk, ChunkingConfig, Sentence, chunk_text
from qa.documents import Document
from qa.embedding import CHUNK_VECTORS, SENTENCE_MEAN, TextEmbedder, chunk_vectors
from qa.errors import DocumentError
from qa.index import DocumentIndex
from qa.lexical import tokenize
from qa.versions import CURRENT_FILE, MANIFEST_FILE, file_damage, is_version_name

logger = logging.getLogger(__name__)

ARCHIVE_FORMAT = 2  # 2: BM25 as memory-mapped arrays, its terms in SQLite
VECTORS_FILE = "vectors.npy"
FAISS_FILE = "faiss.index"
STORE_FILE = "archive.sqlite"
BM25_FILES = {part: f"bm25_{part}.npy" for part in ("data", "indices", "indptr")}
# Dense index kinds searched exactly; "flat" (IndexFlatIP) is what archives built before 2026-12-03 hold.
EXACT_KINDS = ("fp16", "flat")


@dataclass(frozen=True)
class ArchiveSettings:
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    # How chunk vectors are made (qa.embedding): sentence means, 2.3x faster to ingest, the same
    # retrieval on nyt_news_dev.
    chunk_vectors: str = SENTENCE_MEAN
    # BM25 terms include neighbouring pairs: among 19k articles, BM25 alone puts nyt_news_dev's
    # right article first for 73.6% of questions with pairs, 74.3% without, but fused with dense
    # retrieval 73.5% against 70.2%.
    bm25_bigrams: bool = True
    # Exact search up to this many chunks (about 30k news articles), above it IVF-PQ (48 bytes a
    # chunk). Measured on nyt_news_dev's 100 articles among 18,896 SQuAD paragraphs (57.5k chunks):
    # exact search puts the right article first for 74.0% of questions, IVF-PQ (nprobe 32, exact
    # re-scoring of 4x the candidates) for 71.2%, for a few ms a question over mapped vectors.
    exact_up_to: int = 100_000
    pq_bytes: int = 48  # 384 dimensions in 48 sub-vectors of 8, one byte each
    # Inverted lists probed a question; the lists number about 4·sqrt(chunks).
    nprobe: int = 32
    # Dense candidates the approximate index hands on, re-scored exactly from the stored vectors.
    rerank_factor: int = 4

    def __post_init__(self) -> None:
        if self.chunk_vectors not in CHUNK_VECTORS:
            raise ValueError(f"chunk_vectors must be one of {CHUNK_VECTORS}, not {self.chunk_vectors!r}")
        if self.exact_up_to < 256:  # product quantisation learns 256 centroids per sub-vector
            raise ValueError(f"exact_up_to must be at least 256, not {self.exact_up_to}")


@dataclass(frozen=True)
class PreparedDocument:
    """An article cut into sentences and chunks, with its chunks' unit vectors: what an archive
    stores of it (``prepare``; on Ray, ``qa.ray_ingest``)."""

    document: Document
    sentences: list[Sentence]
    chunks: list[Chunk]
    vectors: np.ndarray  # (len(chunks), dimension), unit rows


def prepare(
    documents: Sequence[Document],
    embedder: TextEmbedder,
    settings: ArchiveSettings = ArchiveSettings(),
    progress: bool = False,
) -> list[PreparedDocument]:
    """Segment ``documents`` and embed them, all in one batched pass."""
    cut = [chunk_text(document.id, document.text, settings.chunking) for document in documents]
    by_sentence = settings.chunk_vectors == SENTENCE_MEAN
    texts = [part.text for sentences, chunks in cut for part in (sentences if by_sentence else chunks)]
    vectors = embedder.embed(texts, progress=progress)
    prepared, row = [], 0
    for document, (sentences, chunks) in zip(documents, cut):
        count = len(sentences) if by_sentence else len(chunks)
        rows = chunk_vectors(vectors[row : row + count], chunks) if by_sentence else vectors[row : row + count]
        prepared.append(PreparedDocument(document, sentences, chunks, rows))
        row += count
    return prepared


class ArchiveError(DocumentError):
    """An archive that can't be used as it is (stale, damaged); the message says which and why."""


def manifest_key(embedder: TextEmbedder, settings: ArchiveSettings) -> dict:
    return {
        "format_version": ARCHIVE_FORMAT,
        "embedder": embedder.id,
        "dimension": embedder.dimension,
        "chunking": asdict(settings.chunking),
        "chunk_vectors": settings.chunk_vectors,
        "bm25_bigrams": settings.bm25_bigrams,
    }


def documents_digest(document_ids: Iterable[str]) -> str:
    """One hash for a set of documents: two archives of the same articles have the same."""
    return hashlib.sha256("\n".join(sorted(document_ids)).encode()).hexdigest()


class Archive:
    """One verified version of an archive, open for search. Safe to share between threads."""

    def __init__(self, directory: Path, manifest: dict, settings: ArchiveSettings) -> None:
        self.directory = directory
        self.manifest = manifest
        self.settings = settings
        self._vectors = np.load(directory / VECTORS_FILE, mmap_mode="r")
        flags = faiss.IO_FLAG_MMAP_IFC if manifest["faiss"] in EXACT_KINDS else faiss.IO_FLAG_MMAP
        self._faiss = faiss.read_index(str(directory / FAISS_FILE), flags | faiss.IO_FLAG_READ_ONLY)
        if manifest["faiss"] == "ivfpq":
            faiss.extract_index_ivf(self._faiss).nprobe = settings.nprobe
        self._bm25 = {part: np.load(directory / name, mmap_mode="r") for part, name in BM25_FILES.items()}
        self._store = sqlite3.connect(f"file:{directory / STORE_FILE}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        rows = self._query("SELECT id, first_chunk FROM documents ORDER BY first_chunk")
        self.ids: list[str] = [row[0] for row in rows]
        self._first_chunks = [row[1] for row in rows]
        self._numbers = {document_id: number for number, document_id in enumerate(self.ids)}
        self.view = lru_cache(maxsize=256)(self._view)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, document_id: object) -> bool:
        return document_id in self._numbers

    @property
    def chunk_count(self) -> int:
        return len(self._vectors)

    def _query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._store.execute(sql, parameters).fetchall()

    def document(self, document_id: str) -> Document:
        rows = self._query("SELECT id, title, text, source FROM documents WHERE id = ?", (document_id,))
        if not rows:
            raise DocumentError(f"no article {document_id!r} in the archive")
        return Document(*rows[0])

    def sources(self) -> dict[str, str]:
        """Article id by source (file path), for the articles that have one."""
        return dict(self._query("SELECT source, id FROM documents WHERE source != ''"))

    def locate(self, row: int) -> tuple[str, int]:
        """(article id, chunk number in that article) of chunk row ``row``."""
        number = bisect.bisect_right(self._first_chunks, row) - 1
        return self.ids[number], row - self._first_chunks[number]

    def _view(self, document_id: str) -> DocumentIndex:
        """One article as a ``DocumentIndex`` (its own exact FAISS index, from its stored vectors):
        asking a named article of an archive searches it as a single article is searched."""
        document = self.document(document_id)
        ((sentences_json, first, count),) = self._query(
            "SELECT sentences, first_chunk, chunk_count FROM documents WHERE id = ?", (document_id,)
        )
        sentences = [Sentence(document.text[s:e], s, e) for s, e in json.loads(sentences_json)]
        chunks = [
            Chunk(document_id, number, document.text[start:end], start, end, first_sentence, last_sentence)
            for number, start, end, first_sentence, last_sentence in self._query(
                "SELECT number, start, end, first, last FROM chunks WHERE row >= ? AND row < ? ORDER BY row",
                (first, first + count),
            )
        ]
        index = faiss.IndexFlatIP(self._vectors.shape[1])
        index.add(np.asarray(self._vectors[first : first + count], dtype=np.float32))
        return DocumentIndex(document, sentences, chunks, index, self.manifest)

    def prepared(self, document_id: str) -> PreparedDocument:
        """What the archive stores of an article, to carry it into the next version."""
        view = self.view(document_id)
        first = self._first_chunks[self._numbers[document_id]]
        return PreparedDocument(view.document, view.sentences, view.chunks, self._vectors[first : first + len(view.chunks)])

    def dense(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk row, cosine) of the ``k`` nearest chunks of the whole archive, best first."""
        k = min(k, self.chunk_count)
        if k <= 0:
            return []
        query = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
        if self.manifest["faiss"] in EXACT_KINDS:  # exact already
            scores, ids = self._faiss.search(query, k)
            return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        _, ids = self._faiss.search(query, k * self.settings.rerank_factor)
        rows = np.array(sorted({int(i) for i in ids[0] if i >= 0}), dtype=np.int64)
        if not len(rows):
            return []
        # Exact cosines from the stored vectors: the compressed codes only choose the candidates.
        scores = self.cosines(query[0], rows)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(rows[i]), float(scores[i])) for i in order]

    def cosines(self, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The exact cosine of ``query_vector`` (a unit vector) with each chunk of ``rows``."""
        return np.asarray(self._vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32) @ np.asarray(query_vector, dtype=np.float32)

    def bm25_scores(self, query: str) -> np.ndarray:
        """Every chunk's BM25 score for ``query`` (0 where it shares no term): each query term adds
        its column of scores (a term asked twice, twice, as bm25s scores)."""
        scores = np.zeros(self.chunk_count, dtype=np.float32)
        terms = tokenize([query], bigrams=self.settings.bm25_bigrams)[0]
        if not terms:
            return scores
        marks = ",".join("?" * len(set(terms)))
        columns = dict(self._query(f"SELECT term, id FROM terms WHERE term IN ({marks})", tuple(set(terms))))
        data, indices, indptr = self._bm25["data"], self._bm25["indices"], self._bm25["indptr"]
        for term in terms:
            if (column := columns.get(term)) is not None:
                start, end = indptr[column], indptr[column + 1]
                scores[indices[start:end]] += data[start:end]  # a column names each chunk once
        return scores

def open_archive(root: str | Path, embedder: TextEmbedder, settings: ArchiveSettings = ArchiveSettings()) -> Archive | None:
    """The live version under ``root``, verified; None when nothing was ever built there.

    Raises ArchiveError when the archive is stale (another embedder or chunking) or damaged.
    """
    root = Path(root)
    if not (root / CURRENT_FILE).is_file():
        return None
    version = (root / CURRENT_FILE).read_text().strip()
    directory = root / version
    if not is_version_name(version) or not directory.is_dir():
        raise ArchiveError(f"the archive in {root} is damaged (CURRENT names no version folder: {version[:40]!r})")
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
        expected = manifest_key(embedder, settings)
        changed = [key.replace("_", " ") for key, value in expected.items() if manifest.get(key) != value]
        if changed:
            raise ArchiveError(
                f"the archive in {root} is stale ({', '.join(changed)} changed): remove the folder and build it again with qa index"
            )
        for name, recorded in manifest["files"].items():
            if damage := file_damage(directory, name, recorded):
                raise ArchiveError(f"the archive in {root} is damaged ({damage[1]})")
        return Archive(directory, manifest, settings)
    except ArchiveError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, sqlite3.Error) as error:
        raise ArchiveError(f"the archive in {root} is unreadable ({error.__class__.__name__}: {error})") from None
