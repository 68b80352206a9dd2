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

>>> archive = update_archive("news/", embedder, prepare(documents, embedder))   # doctest: +SKIP
>>> archive.dense(embedder.embed(["Who won?"])[0], k=5)                          # doctest: +SKIP
[(1234, 0.71), ...]
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import bm25s
import faiss
import numpy as np

from qa.chunking import Chunk, ChunkingConfig, Sentence, chunk_text
from qa.documents import Document
from qa.embedding import CHUNK_VECTORS, SENTENCE_MEAN, TextEmbedder, chunk_vectors
from qa.errors import DocumentError
from qa.index import CURRENT_FILE, MANIFEST_FILE, DocumentIndex, file_damage, is_version_name, publish_version
from qa.lexical import tokenize

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


def _manifest_key(embedder: TextEmbedder, settings: ArchiveSettings) -> dict:
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
        expected = _manifest_key(embedder, settings)
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


def update_archive(
    root: str | Path,
    embedder: TextEmbedder,
    added: Iterable[PreparedDocument] = (),
    removed: Iterable[str] = (),
    settings: ArchiveSettings = ArchiveSettings(),
    progress: Callable[[str], None] | None = None,
) -> Archive:
    """Write the next version of the archive under ``root`` and switch to it.

    The articles already there are kept, less ``removed`` and less any an ``added`` one replaces
    (same source, different text); an ``added`` article already there is left as it is.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    previous = open_archive(root, embedder, settings)
    added = list(added)
    gone = set(removed)
    if previous is not None:
        by_source = previous.sources()
        gone |= {by_source[p.document.source] for p in added if p.document.source in by_source} - {p.document.id for p in added}
    kept = [previous.prepared(i) for i in previous.ids if i not in gone] if previous else []
    known = {p.document.id for p in kept}
    fresh: dict[str, PreparedDocument] = {}
    for p in added:
        if p.document.id not in known:
            fresh.setdefault(p.document.id, p)
    documents = kept + list(fresh.values())
    if previous is not None and not fresh and len(kept) == len(previous):
        return previous  # nothing changes
    directory, manifest = publish_version(
        root, lambda folder: _write_version(folder, documents, embedder, settings, progress)
    )
    logger.info(
        "archive %s: %d articles (%d added, %d removed), %d chunks, %s index",
        root, len(documents), len(fresh), len(previous or ()) - len(kept), manifest["chunks"], manifest["faiss"],
    )
    return Archive(directory, manifest, settings)


def remove_from_archive(
    root: str | Path, embedder: TextEmbedder, articles: Iterable[str], settings: ArchiveSettings = ArchiveSettings()
) -> Archive:
    """The archive under ``root`` less ``articles``, each named by its id or by its source (the
    path it was read from); DocumentError naming any the archive doesn't hold."""
    archive = open_archive(root, embedder, settings)
    if archive is None:
        raise DocumentError(f"there is no archive in {root}")
    sources = archive.sources()
    wanted = list(articles)
    unknown = [a for a in wanted if a not in archive and a not in sources]
    if unknown:
        raise DocumentError(f"the archive in {root} holds no article {', '.join(map(repr, unknown))}")
    return update_archive(root, embedder, removed={a if a in archive else sources[a] for a in wanted}, settings=settings)


def _write_version(
    directory: Path,
    documents: list[PreparedDocument],
    embedder: TextEmbedder,
    settings: ArchiveSettings,
    progress: Callable[[str], None] | None,
) -> tuple[dict, list[str]]:
    """Writes the version's data files into ``directory``; its manifest and their names."""
    say = progress or (lambda step: None)
    vectors = (
        np.concatenate([p.vectors for p in documents]).astype(np.float16)
        if documents
        else np.zeros((0, embedder.dimension), np.float16)
    )
    np.save(directory / VECTORS_FILE, vectors)
    say("indexing terms (BM25)")
    terms = _write_bm25(directory, [c.text for p in documents for c in p.chunks], settings)
    say("writing the article store")
    _write_store(directory / STORE_FILE, documents, terms)
    say("indexing vectors")
    kind = _write_faiss(directory / FAISS_FILE, np.asarray(vectors, dtype=np.float32), settings)
    files = [VECTORS_FILE, STORE_FILE, FAISS_FILE, *BM25_FILES.values()]
    manifest = {
        **_manifest_key(embedder, settings),
        "faiss": kind,
        "documents": len(documents),
        "chunks": len(vectors),
        "documents_digest": documents_digest(p.document.id for p in documents),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return manifest, files


def _write_bm25(directory: Path, texts: list[str], settings: ArchiveSettings) -> dict[str, int]:
    """BM25 (Lucene's variant, as for one article) of ``texts``, written as its sparse matrix by
    term; returns the term → column map. No terms at all ("It is what it is."): an empty matrix."""
    tokens = tokenize(texts, bigrams=settings.bm25_bigrams)
    if any(tokens):
        bm25 = bm25s.BM25(method="lucene")
        bm25.index(tokens, show_progress=False)
        matrix, terms = bm25.scores, bm25.vocab_dict
    else:
        matrix, terms = {"data": np.zeros(0, np.float32), "indices": np.zeros(0, np.int32), "indptr": np.zeros(1, np.int64)}, {}
    for part, name in BM25_FILES.items():
        np.save(directory / name, np.asarray(matrix[part]))
    return terms


def _write_store(path: Path, documents: list[PreparedDocument], terms: dict[str, int]) -> None:
    store = sqlite3.connect(path)
    try:
        store.executescript(
            """
            CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT, text TEXT, source TEXT,
                                    sentences TEXT, first_chunk INTEGER, chunk_count INTEGER);
            CREATE INDEX documents_by_source ON documents(source);
            CREATE TABLE chunks (row INTEGER PRIMARY KEY, number INTEGER, start INTEGER, end INTEGER,
                                 first INTEGER, last INTEGER);
            CREATE TABLE terms (term TEXT PRIMARY KEY, id INTEGER) WITHOUT ROWID;
            """
        )
        store.executemany("INSERT INTO terms VALUES (?, ?)", terms.items())
        row = 0
        for p in documents:
            document = p.document
            sentences = json.dumps([[s.start, s.end] for s in p.sentences])
            store.execute(
                "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
                (document.id, document.title, document.text, document.source, sentences, row, len(p.chunks)),
            )
            store.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                [(row + c.index, c.index, c.start, c.end, c.first, c.last) for c in p.chunks],
            )
            row += len(p.chunks)
        store.commit()
    finally:
        store.close()


def _write_faiss(path: Path, vectors: np.ndarray, settings: ArchiveSettings) -> str:
    """The dense index for ``vectors``; returns its kind, "fp16" (exact) or "ivfpq"."""
    count, dimension = vectors.shape
    if count <= settings.exact_up_to:
        # Float16 codes are the stored vectors exactly: the same hits and scores as IndexFlatIP over
        # them in float32 (nyt_news_dev's 57.5k chunks, 200 queries: identical), half the bytes to
        # scan, 6.5 against 12.8 ms a question.
        index = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        kind = "fp16"
    else:
        lists = int(min(max(4 * math.sqrt(count), 16), count // 39))  # faiss wants 39 points a list to train
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dimension), dimension, lists, settings.pq_bytes, 8, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        kind = "ivfpq"
    index.add(vectors)
    faiss.write_index(index, str(path))
    return kind
