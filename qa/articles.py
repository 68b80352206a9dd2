"""The articles added one by one (the seed, uploads, pasted text): each a corpus of one
(``qa.store``) under ``<root>/<document id>/``, in the same format as an archive, with a single
article's embedding recipe (``ARTICLE_SETTINGS``).

Loading verifies the corpus (format, embedder, recipe, every file's size and checksum) and that it
holds this very article; a stale, truncated or corrupted one is rebuilt, with one log line saying
why. Where the folder can't be written (read-only, full), a build keeps its index in memory and
says so in the log; ``DocumentIndex.persisted`` is then False. The store stays under a disk quota
by removing the least recently used articles (``evict``), and a first build killed before its
switch leaves nothing behind once ``qa.versions.remove_incomplete`` has run.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from qa.config import ARTICLE_SETTINGS, CorpusSettings
from qa.documents import Document
from qa.embedding import TextEmbedder
from qa.errors import DocumentError
from qa.store import (
    CorpusError,
    DocumentIndex,
    manifest_key,
    open_corpus,
)
from qa.store_build import prepare, update_corpus
from qa.versions import CURRENT_FILE

logger = logging.getLogger(__name__)

# Uploaded articles' corpora are removed, least recently used first, beyond this much disk. A
# corpus of one takes about 8 bytes per character of text (under 30 KB for a 3 KB article).
DISK_QUOTA_BYTES = 2 * 1024**3


def _tree_size(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


class ArticleStore:
    """Builds, persists and loads the corpora of single articles under ``root``."""

    def __init__(
        self,
        root: Path,
        embedder: TextEmbedder,
        settings: CorpusSettings = ARTICLE_SETTINGS,
        disk_quota_bytes: int = DISK_QUOTA_BYTES,
    ) -> None:
        self.root = Path(root)
        self.embedder = embedder
        self.settings = settings
        self.disk_quota_bytes = disk_quota_bytes

    def load_or_build(self, document: Document, progress: Callable[[int, int], None] | None = None) -> DocumentIndex:
        """The stored index of ``document`` if it is whole and current; otherwise a fresh build."""
        try:
            index = self._load(document.id)
            if (index.document.title, index.document.text) != (document.title, document.text):
                raise CorpusError(self.root / document.id, "stale (content changed)")
        except _Missing:
            logger.info("no index for %r yet: building", document.title)
        except CorpusError as error:
            logger.warning("index for %r (%s) is %s: rebuilding", document.title, document.id, error.problem)
        else:
            self.touch(document.id)
            return index
        return self.build(document, progress)

    def load_stored(self, document_id: str) -> DocumentIndex:
        """The stored index of the document ``document_id``, its text included; DocumentError when
        there is none (never built here, evicted) or it can't be used."""
        try:
            index = self._load(document_id)
        except _Missing:
            raise DocumentError(
                f"no article {document_id[:60]!r} is stored here (it may have been removed to save space): please add it again"
            ) from None
        except CorpusError as error:
            logger.warning("stored index for %s is %s", document_id, error.problem)
            raise DocumentError("that article's stored index is damaged: please add it again") from None
        self.touch(document_id)
        return index

    def build(self, document: Document, progress: Callable[[int, int], None] | None = None) -> DocumentIndex:
        """Chunk, embed and index ``document``, and persist it atomically (in memory only where
        the folder can't be written). ``progress(done, total)`` hears of every batch of chunks."""
        (prepared,) = prepare([document], self.embedder, self.settings, progress=progress)
        if not prepared.chunks:
            raise DocumentError(f"{document.title!r} has no sentences: there is nothing to index")
        try:
            corpus = update_corpus(self.root / document.id, self.embedder, [prepared], settings=self.settings, replace_all=True)
        except OSError:
            logger.warning(
                "could not write the index of %r under %s: keeping it in memory only",
                document.title, self.root, exc_info=True,
            )
            return prepared.index(manifest_key(self.embedder, self.settings), persisted=False)
        logger.info("indexed %r: %d chunks in %s", document.title, len(prepared.chunks), corpus.directory)
        view = corpus.view(document.id)  # the stored float16 vectors: as it will load next time
        corpus.close()
        return view

    def _load(self, document_id: str) -> DocumentIndex:
        """The verified stored article; raises _Missing, or CorpusError saying what is wrong."""
        corpus = open_corpus(self.root / document_id, self.embedder, self.settings)
        if corpus is None:
            raise _Missing()
        try:
            if corpus.ids != [document_id]:
                raise CorpusError(self.root / document_id, f"damaged (it holds {corpus.ids[:2]}, not {document_id!r})")
            return corpus.view(document_id)
        finally:
            corpus.close()  # the view holds its own copies: no file stays open per article

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
        """Mark the article as just used (for ``evict``); a read-only folder is left as it is."""
        try:
            os.utime(self.root / document_id / CURRENT_FILE)
        except OSError:
            pass

    def stored_ids(self) -> list[str]:
        """Articles stored here, least recently used first."""
        try:
            homes = [home for home in self.root.iterdir() if (home / CURRENT_FILE).is_file()]
        except OSError:
            return []
        return [home.name for home in sorted(homes, key=lambda home: (home / CURRENT_FILE).stat().st_mtime)]

    def remove(self, document_id: str) -> None:
        """Remove an article's stored index, if it has one."""
        home = self.root / document_id
        if home.resolve().parent == self.root.resolve() and (home / CURRENT_FILE).is_file():
            shutil.rmtree(home, ignore_errors=True)

    def evict(self, keep: set[str] = frozenset()) -> list[str]:
        """Remove the least recently used articles, except those in ``keep``, until the store is
        under its disk quota; the ids removed."""
        sizes = {document_id: _tree_size(self.root / document_id) for document_id in self.stored_ids()}
        total, removed = sum(sizes.values()), []
        for document_id, size in sizes.items():  # least recently used first
            if total <= self.disk_quota_bytes:
                break
            if document_id in keep:
                continue
            shutil.rmtree(self.root / document_id, ignore_errors=True)
            total -= size
            removed.append(document_id)
        if removed:
            logger.info("disk quota: removed the indexes of %d least recently used articles", len(removed))
        return removed


class _Missing(Exception):
    """No index was ever built for this article here: a first build, not a problem."""
