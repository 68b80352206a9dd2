"""Writing a corpus (``qa.store``): articles prepared (cut into sentences and chunks, embedded:
``prepare``), and the next version of its files (FAISS over every chunk's vector,
the SQLite store of articles and chunks, BM25 as memory-mapped arrays), with the articles added,
replaced or removed, switched to atomically (``qa.versions.publish_version``)."""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import bm25s
import faiss
import numpy as np

from qa.centrality import MAX_EMBEDDED_SENTENCES, sentence_centrality
from qa.chunking import chunk_text
from qa.config import ARCHIVE_SETTINGS, SENTENCE_MEAN, CorpusSettings
from qa.documents import Document
from qa.embedding import TextEmbedder, chunk_vectors
from qa.errors import DocumentError
from qa.lexical import tokenize
from qa.store import (
    BM25_FILES,
    FAISS_FILE,
    STORE_FILE,
    STORE_FORMAT,
    VECTORS_FILE,
    Corpus,
    PreparedDocument,
    documents_digest,
    manifest_key,
    open_corpus,
)
from qa.versions import build_lock, publish_version

logger = logging.getLogger(__name__)

# Texts (chunks or sentences) embedded between two progress reports: at most 4 s on two cores in fp32.
PROGRESS_EVERY_TEXTS = 256
# Fewer texts than this embed in a few seconds: no progress bar.
PROGRESS_BAR_ABOVE_TEXTS = 200

def prepare(
    documents: Sequence[Document],
    embedder: TextEmbedder,
    settings: CorpusSettings = ARCHIVE_SETTINGS,
    progress: bool | None | Callable[[int, int], None] = False,
) -> list[PreparedDocument]:
    """Segment ``documents`` and embed them, in batches, with each sentence's centrality. ``progress``: a progress bar
    (True; None: above ``PROGRESS_BAR_ABOVE_TEXTS`` texts), or ``progress(done, total)`` called
    after each batch of texts."""
    cut = [chunk_text(document.id, document.text, settings.chunking) for document in documents]
    by_sentence = settings.chunk_vectors == SENTENCE_MEAN
    texts = [part.text for sentences, chunks in cut for part in (sentences if by_sentence else chunks)]
    # Windows' vectors are no sentence's: an article's sentences are embedded too, for their
    # centrality, up to MAX_EMBEDDED_SENTENCES of them (docs/benchmarks.md: what it adds to
    # ingestion), in batches of their own (the int8 embedder scales each batch by its own range).
    scored = [] if by_sentence else [s.text for sentences, _ in cut if len(sentences) <= MAX_EMBEDDED_SENTENCES for s in sentences]
    vectors = _embed(embedder, texts, progress)
    scored_vectors = _embed(embedder, scored, False if callable(progress) else progress)
    prepared, row, sentence_row = [], 0, 0
    for document, (sentences, chunks) in zip(documents, cut):
        if by_sentence:
            sentence_vectors = vectors[row : row + len(sentences)]
            rows = chunk_vectors(sentence_vectors, chunks)
            row += len(sentences)
        else:
            rows = vectors[row : row + len(chunks)]
            row += len(chunks)
            sentence_vectors = None
            if len(sentences) <= MAX_EMBEDDED_SENTENCES:
                sentence_vectors = scored_vectors[sentence_row : sentence_row + len(sentences)]
                sentence_row += len(sentences)
        centrality = sentence_centrality(sentence_vectors, rows, chunks, len(sentences))
        prepared.append(PreparedDocument(document, sentences, chunks, rows, centrality))
    return prepared


def _embed(embedder: TextEmbedder, texts: list[str], progress: bool | None | Callable[[int, int], None]) -> np.ndarray:
    if not texts:
        return np.zeros((0, embedder.dimension), np.float32)
    if not callable(progress):
        return embedder.embed(texts, progress=len(texts) > PROGRESS_BAR_ABOVE_TEXTS if progress is None else progress)
    parts = [np.zeros((0, embedder.dimension), np.float32)]
    for first in range(0, len(texts), PROGRESS_EVERY_TEXTS):
        parts.append(embedder.embed(texts[first : first + PROGRESS_EVERY_TEXTS]))
        progress(min(first + PROGRESS_EVERY_TEXTS, len(texts)), len(texts))
    return np.concatenate(parts)


def update_corpus(
    root: str | Path,
    embedder: TextEmbedder,
    added: Iterable[PreparedDocument] = (),
    removed: Iterable[str] = (),
    settings: CorpusSettings = ARCHIVE_SETTINGS,
    progress: Callable[[str], None] | None = None,
    *,
    replace_all: bool = False,
) -> Corpus:
    """Write the next version of the corpus under ``root`` and switch to it.

    The articles already there are kept, less ``removed`` and less any an ``added`` one replaces
    (same source, different text); an ``added`` article already there is left as it is. With
    ``replace_all`` the new version holds ``added`` alone, whatever was there (stale or damaged
    included): how a single article's corpus is rebuilt.
    """
    root = Path(root)
    with build_lock(root):  # what is there, and the version written from it, by one build at a time
        return _update(root, embedder, list(added), set(removed), settings, progress, replace_all)


def _update(
    root: Path, embedder: TextEmbedder, added: list[PreparedDocument], gone: set[str], settings: CorpusSettings,
    progress: Callable[[str], None] | None, replace_all: bool,
) -> Corpus:
    previous = None if replace_all else open_corpus(root, embedder, settings)
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
        "corpus %s: %d articles (%d added, %d removed), %d chunks, %s index",
        root, len(documents), len(fresh), len(previous or ()) - len(kept), manifest["chunks"], manifest["faiss"],
    )
    return Corpus(directory, manifest, settings)


def remove_from_corpus(
    root: str | Path, embedder: TextEmbedder, articles: Iterable[str], settings: CorpusSettings = ARCHIVE_SETTINGS
) -> Corpus:
    """The archive under ``root`` less ``articles``, each named by its id or by its source (the
    path it was read from); DocumentError naming any the archive doesn't hold."""
    archive = open_corpus(root, embedder, settings)
    if archive is None:
        raise DocumentError(f"there is no archive in {root}")
    sources = archive.sources()
    wanted = list(articles)
    unknown = [a for a in wanted if a not in archive and a not in sources]
    if unknown:
        raise DocumentError(f"the archive in {root} holds no article {', '.join(map(repr, unknown))}")
    return update_corpus(root, embedder, removed={a if a in archive else sources[a] for a in wanted}, settings=settings)


def _write_version(
    directory: Path,
    documents: list[PreparedDocument],
    embedder: TextEmbedder,
    settings: CorpusSettings,
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
        "format_version": STORE_FORMAT,
        **manifest_key(embedder, settings),
        "faiss": kind,
        "documents": len(documents),
        "chunks": len(vectors),
        "documents_digest": documents_digest(p.document.id for p in documents),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return manifest, files


def _write_bm25(directory: Path, texts: list[str], settings: CorpusSettings) -> dict[str, int]:
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
            CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT, text TEXT, source TEXT, meta TEXT,
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
            sentences = json.dumps(p.sentence_rows())
            meta = json.dumps(document.meta, ensure_ascii=False)
            store.execute(
                "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (document.id, document.title, document.text, document.source, meta, sentences, row, len(p.chunks)),
            )
            store.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                [(row + c.index, c.index, c.start, c.end, c.first, c.last) for c in p.chunks],
            )
            row += len(p.chunks)
        store.commit()
    finally:
        store.close()


def _write_faiss(path: Path, vectors: np.ndarray, settings: CorpusSettings) -> str:
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
