"""The corpus store: any number of articles in one index under one folder. An archive is a corpus;
so is each article added on its own (``qa.articles``), as a corpus of one.

``<root>/CURRENT`` names the live version ``<root>/<version>/``, which holds:

- ``vectors.npy``: every chunk's unit vector (float16, one row per chunk), memory-mapped: dense
  hits are re-scored exactly from it, and an article's own vectors are read from it;
- ``faiss.index``: exact inner product over the float16 vectors (a float16 scalar quantiser, as
  ``vectors.npy`` stores them) up to ``CorpusSettings.exact_up_to`` chunks, compressed and
  approximate above (IVF with product quantisation), memory-mapped; which one is recorded in the
  manifest;
- ``archive.sqlite``: the articles (title, source, text, metadata, sentence offsets), the chunks (a
  row per vector) and the BM25 terms (term → column). SQLite rather than Arrow/Parquet because a
  question needs a few rows by key (its hits' chunks and articles), not columns: an indexed lookup
  reads them without loading the corpus's text (about 100 MB for 19k articles) into memory; and it
  is in the standard library;
- ``bm25_data.npy``, ``bm25_indices.npy``, ``bm25_indptr.npy``: each term's BM25 score in each
  chunk that has it, as a sparse matrix by term (as bm25s computes it), memory-mapped. The terms
  are looked up in SQLite rather than held in a dictionary: with word pairs an archive of 19k
  articles has 1 M terms, which in a Python dictionary took 235 MB more of the server's memory;
- ``manifest.json``: format, embedder, the embedding recipe (chunking, how chunk vectors are made,
  BM25 terms), index kind, counts, the set of documents, and every file's size and sha256.

Articles are added, replaced (same source, new text) and removed by writing a new version
(``qa.store_build``): the vectors of articles already there are carried over, only new ones are
embedded. The version is written under a temporary name, renamed into place, and ``CURRENT``
switched by one atomic ``os.replace``: a build killed at any point leaves the last good version live.

Opening checks the manifest (format, embedder, recipe) and every file's size and checksum: a stale
or damaged corpus raises ``CorpusError`` saying which and why.

For example::

    corpus = update_corpus("news/", embedder, prepare(documents, embedder))
    corpus.dense(embedder.embed(["Who won?"])[0], k=5)
    # -> [(1234, 0.71), ...]
    corpus.view("some-article-id").search(query_vector, k=3)  # one article, searched alone

"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import faiss
import numpy as np

from qa.chunking import Chunk, Sentence
from qa.config import ARCHIVE_SETTINGS, CorpusSettings
from qa.documents import Document
from qa.embedding import TextEmbedder
from qa.errors import DocumentError
from qa.lexical import bm25_scores_of, build_bm25, tokenize
from qa.versions import CURRENT_FILE, MANIFEST_FILE, file_damage, is_version_name

logger = logging.getLogger(__name__)

# 2: BM25 as memory-mapped arrays, its terms in SQLite; 4: each article's metadata (``Document.meta``),
# and single articles too (3 was the last format of the per-article indexes this store replaced).
STORE_FORMAT = 4
# Formats this code opens: a format-2 archive reads as one whose articles have no metadata, so a
# large archive built before is not embedded again.
READABLE_FORMATS = (2, 4)
VECTORS_FILE = "vectors.npy"
FAISS_FILE = "faiss.index"
STORE_FILE = "archive.sqlite"  # the name it has had since archives came, before single articles moved in
BM25_FILES = {part: f"bm25_{part}.npy" for part in ("data", "indices", "indptr")}
# Dense index kinds searched exactly; "flat" (IndexFlatIP) is what archives built before 2026-12-03 hold.
EXACT_KINDS = ("fp16", "flat")


UNBUILT = "unbuilt"


@dataclass
class DocumentIndex:
    """An article's sentences, chunks and chunk vectors, ready to search on its own: an article of a
    corpus (``Corpus.view``)."""

    document: Document
    sentences: list[Sentence]
    chunks: list[Chunk]
    faiss_index: faiss.Index  # exact inner product over unit vectors, i.e. cosine
    manifest: dict  # the manifest of the corpus it belongs to
    persisted: bool = True  # False: kept in memory only, its folder could not be written
    # Its chunks' BM25 index (``qa.lexical.build_bm25``): built on the first search unless given
    # (the ingestion worker builds it beside the index). None: no chunk has a searchable term.
    bm25: object = field(default=UNBUILT, repr=False, compare=False)
    # Each sentence's centrality (``qa.centrality``), as indexed; None in an index of an older format.
    centrality: np.ndarray | None = field(default=None, repr=False, compare=False)

    # A ``qa.retrieval.ChunkSource`` of one article: rows are its chunks.
    def __len__(self) -> int:
        return 1

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk index, cosine similarity) of the ``k`` nearest chunks, best first."""
        k = min(k, len(self.chunks))
        if k <= 0:
            return []
        query = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
        scores, ids = self.faiss_index.search(query, k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    dense = search

    def build_bm25(self) -> None:
        """Build its BM25 now, if not yet (the ingestion worker does, off the question path)."""
        if self.bm25 is UNBUILT:
            self.bm25 = build_bm25([chunk.text for chunk in self.chunks])

    def bm25_scores(self, query: str) -> np.ndarray:
        self.build_bm25()
        return bm25_scores_of(self.bm25, query, len(self.chunks))

    def cosines(self, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        vectors = self.faiss_index.reconstruct_batch(np.asarray(rows, dtype=np.int64))
        return vectors @ np.asarray(query_vector, dtype=np.float32)

    def rows(self, document_id: str) -> range:
        return range(len(self.chunks))

    def locate(self, row: int) -> tuple[str, int]:
        return self.document.id, row

    def view(self, document_id: str) -> DocumentIndex:
        return self


@dataclass(frozen=True)
class PreparedDocument:
    """An article cut into sentences and chunks, with its chunks' unit vectors: what an archive
    stores of it (``prepare``; on Ray, ``qa.ray_ingest``)."""

    document: Document
    sentences: list[Sentence]
    chunks: list[Chunk]
    vectors: np.ndarray  # (len(chunks), dimension), unit rows
    centrality: np.ndarray | None = None  # per sentence (``qa.centrality``); None: not worked out

    def index(self, manifest: dict, persisted: bool = True) -> DocumentIndex:
        """The article ready to search on its own (an exact index of its vectors)."""
        faiss_index = faiss.IndexFlatIP(self.vectors.shape[1])
        faiss_index.add(np.asarray(self.vectors, dtype=np.float32))
        return DocumentIndex(
            self.document, self.sentences, self.chunks, faiss_index, manifest, persisted, centrality=self.centrality
        )

    def sentence_rows(self) -> list[list]:
        """Its sentences as stored: [start, end, centrality] each (``read_sentences`` reads them)."""
        if self.centrality is None:
            return [[s.start, s.end] for s in self.sentences]
        return [[s.start, s.end, round(float(c), 7)] for s, c in zip(self.sentences, self.centrality)]


def read_sentences(text: str, rows: list[list]) -> tuple[list[Sentence], np.ndarray | None]:
    """The sentences of ``text`` stored as ``rows`` (``PreparedDocument.sentence_rows``), and
    their centrality: None where rows of an older format have none.

    >>> read_sentences("Hi. Bye.", [[0, 3, 0.6], [4, 8, 0.4]])[1].tolist()
    [0.6, 0.4]
    >>> read_sentences("Hi. Bye.", [[0, 3], [4, 8]])
    ([Sentence(text='Hi.', start=0, end=3), Sentence(text='Bye.', start=4, end=8)], None)
    """
    sentences = [Sentence(text[row[0] : row[1]], row[0], row[1]) for row in rows]
    has_centrality = bool(rows) and all(len(row) == 3 for row in rows)
    return sentences, np.array([row[2] for row in rows]) if has_centrality else None


class CorpusError(DocumentError):
    """A corpus that can't be used as it is; the message says which and why, ``problem`` just why
    ("stale (embedder changed)", "damaged (vectors.npy checksum mismatch)")."""

    def __init__(self, root: Path, problem: str, advice: str = "") -> None:
        self.problem = problem
        super().__init__(f"the archive in {root} is {problem}" + (f": {advice}" if advice else ""))


def manifest_key(embedder: TextEmbedder, settings: CorpusSettings) -> dict:
    """The manifest fields a corpus must match to be opened with ``embedder`` and ``settings``."""
    return {
        "embedder": embedder.id,
        "dimension": embedder.dimension,
        "chunking": asdict(settings.chunking),
        "chunk_vectors": settings.chunk_vectors,
        "bm25_bigrams": settings.bm25_bigrams,
    }


def documents_digest(document_ids: Iterable[str]) -> str:
    """One hash for a set of documents: two archives of the same articles have the same."""
    return hashlib.sha256("\n".join(sorted(document_ids)).encode()).hexdigest()


class Corpus:
    """One verified version of a corpus, open for search. Safe to share between threads."""

    def __init__(self, directory: Path, manifest: dict, settings: CorpusSettings) -> None:
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
        self._meta_column = "meta" if manifest["format_version"] >= 4 else "'{}'"
        self.view = lru_cache(maxsize=256)(self._view)
        self._centrality: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def close(self) -> None:
        """Let go of its files now (the store's connection, the mapped arrays) rather than when the
        garbage collector gets to it: a view (``view``) already taken holds its own copies."""
        self.view.cache_clear()
        self._store.close()
        self._vectors = self._faiss = None
        self._bm25 = {}

    def __contains__(self, document_id: object) -> bool:
        return document_id in self._numbers

    @property
    def chunk_count(self) -> int:
        return len(self._vectors)

    def _query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._store.execute(sql, parameters).fetchall()

    def document(self, document_id: str) -> Document:
        rows = self._query(f"SELECT id, title, text, source, {self._meta_column} FROM documents WHERE id = ?", (document_id,))
        if not rows:
            raise DocumentError(f"no article {document_id!r} in the archive")
        *fields, meta = rows[0]
        return Document(*fields, meta=json.loads(meta))

    def sources(self) -> dict[str, str]:
        """Article id by source (file path), for the articles that have one."""
        return dict(self._query("SELECT source, id FROM documents WHERE source != ''"))

    def rows(self, document_id: str) -> range:
        """The chunk rows of article ``document_id``."""
        number = self._numbers[document_id]
        return range(self._first_chunks[number], self._first_chunks[number + 1] if number + 1 < len(self.ids) else self.chunk_count)

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
        sentences, centrality = read_sentences(document.text, json.loads(sentences_json))
        chunks = [
            Chunk(document_id, number, document.text[start:end], start, end, first_sentence, last_sentence)
            for number, start, end, first_sentence, last_sentence in self._query(
                "SELECT number, start, end, first, last FROM chunks WHERE row >= ? AND row < ? ORDER BY row",
                (first, first + count),
            )
        ]
        return PreparedDocument(document, sentences, chunks, self._vectors[first : first + count], centrality).index(self.manifest)

    def prepared(self, document_id: str) -> PreparedDocument:
        """What the corpus stores of an article, to carry it into the next version."""
        view = self.view(document_id)
        first = self._first_chunks[self._numbers[document_id]]
        return PreparedDocument(
            view.document, view.sentences, view.chunks, self._vectors[first : first + len(view.chunks)], view.centrality
        )

    def centrality(self) -> np.ndarray:
        """Each article's closeness to the whole corpus: the cosine of its mean chunk vector with the
        mean of all of them (in ``ids`` order); a pass over the stored vectors, kept once made."""
        if self._centrality is None:
            sums = np.add.reduceat(np.asarray(self._vectors, dtype=np.float32), self._first_chunks, axis=0) if self.ids else np.zeros((0, 1))
            means = sums / np.linalg.norm(sums, axis=1, keepdims=True).clip(min=1e-12)
            centroid = means.mean(axis=0)
            self._centrality = means @ (centroid / max(float(np.linalg.norm(centroid)), 1e-12))
        return self._centrality

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


def open_corpus(root: str | Path, embedder: TextEmbedder, settings: CorpusSettings = ARCHIVE_SETTINGS) -> Corpus | None:
    """The live version under ``root``, verified; None when nothing was ever built there.

    Raises CorpusError when the corpus is stale (another embedder or recipe) or damaged.
    """
    root = Path(root)
    if not (root / CURRENT_FILE).is_file():
        return None
    try:
        version = (root / CURRENT_FILE).read_text().strip()
        directory = root / version
        if not is_version_name(version) or not directory.is_dir():
            raise CorpusError(root, f"damaged (CURRENT names no version folder: {version[:40]!r})")
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
        expected = manifest_key(embedder, settings)
        changed = [key.replace("_", " ") for key, value in expected.items() if manifest.get(key) != value]
        if manifest.get("format_version") not in READABLE_FORMATS:
            changed.insert(0, "format version")
        if changed:
            raise CorpusError(
                root, f"stale ({', '.join(changed)} changed)", "remove the folder and build it again with qa index"
            )
        for name, recorded in manifest["files"].items():
            if damage := file_damage(directory, name, recorded):
                raise CorpusError(root, f"damaged ({damage[1]})")
        return Corpus(directory, manifest, settings)
    except CorpusError:
        raise
    # Anything the checks above don't name (unreadable bytes, odd JSON shapes) is still damage.
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError, sqlite3.Error) as error:
        raise CorpusError(root, f"unreadable ({error.__class__.__name__}: {error})") from None
