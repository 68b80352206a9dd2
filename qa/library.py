"""The articles an Assistant holds: those added one by one (each with its own persisted index, kept
in memory within a budget, least recently asked unloaded first) and an archive; which of them a
question searches, and the article a conversation is about.

>>> Settings().library.loaded_chars_budget, WHOLE_ARCHIVE
(10000000, '*')
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.answer import Context
from qa.articles import ArticleStore
from qa.config import PASTED_TITLE, WHOLE_ARCHIVE, Settings
from qa.documents import Document, document_from_text, load_document
from qa.embedding import TextEmbedder
from qa.errors import DocumentError
from qa.follow_ups import Resolution, Turn
from qa.reading import read_already, sentence_bounds
from qa.retrieval import ChunkSource, Hit, Retriever
from qa.store import Corpus, DocumentIndex, open_corpus

logger = logging.getLogger(__name__)

# Package data: found the same way in a checkout and in an installed wheel.
SEED_ARTICLE = Path(__file__).parent / "seeds" / "indus_x.txt"
SEED_TITLE = "INDUS-X: US and India launch a defence innovation bridge"


@dataclass(frozen=True)
class LoadedArticle:
    """An article a search found: its index, and which search found it (``search``: its own id
    when the article was searched alone, "archive" when the whole archive was)."""

    document: Document
    index: DocumentIndex
    search: str


class Library:
    """The articles a question can be asked of. Adding loads an article's index from ``store`` or
    builds it; articles beyond ``settings.library.loaded_chars_budget`` characters in memory are
    unloaded, least recently asked first (except the first one added), and loaded again from their
    stored index when asked; an archive is opened with ``settings.archive_index``."""

    def __init__(
        self,
        store: ArticleStore,
        embedder: TextEmbedder,
        settings: Settings = Settings(),
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._documents: OrderedDict[str, LoadedArticle] = OrderedDict()  # least recently used first
        self._pinned: str | None = None  # the first article added is never unloaded
        self._order: dict[str, int] = {}  # when each article was first added, for listing them
        self._lock = threading.Lock()
        self.archive: Corpus | None = None
        self.retriever = Retriever(embedder, settings.retrieval)

    def use_archive(self, root: str | Path) -> Corpus:
        """Ask the archive built under ``root`` (``qa index``) too: a question without a document
        id searches all of it at once; any of its articles can be asked by id."""
        archive = open_corpus(root, self.embedder, self.settings.archive_index)
        if archive is None:
            raise DocumentError(f"there is no archive in {root}: build one with qa index FILES --archive {root}")
        with self._lock:
            self.archive = archive
        return archive

    @property
    def documents(self) -> list[Document]:
        """The articles in memory now, in the order they were added."""
        return sorted((loaded.document for loaded in self._documents.values()), key=lambda document: self._order[document.id])

    def document(self, document_id: str) -> Document:
        """The article ``document_id``: one added, or one of the archive (read, not loaded to ask)."""
        if document_id not in self._documents and self.archive is not None and document_id in self.archive:
            return self.archive.document(document_id)
        return self.loaded(document_id).document

    def add(self, document: Document) -> Document:
        """Index ``document`` (or load its index from disk) and make it askable."""
        with self._lock:
            if document.id not in self._documents:
                self._keep(self.store.load_or_build(document))
        return document

    def add_index(self, index: DocumentIndex) -> Document:
        """Make an article askable from its index, built elsewhere (``qa.ingest``)."""
        with self._lock:
            self._keep(index)
        return index.document

    def add_text(self, text: str, title: str = PASTED_TITLE) -> Document:
        return self.add(document_from_text(text, title=title))

    def add_file(self, path: str | Path) -> Document:
        return self.add(load_article(path))

    def forget(self, document_id: str) -> None:
        """Unload an article and remove its stored index (not the first article added, nor one of
        the archive)."""
        with self._lock:
            if document_id == self._pinned or (self.archive is not None and document_id in self.archive):
                return
            self._documents.pop(document_id, None)
            self.store.remove(document_id)

    def _keep(self, index: DocumentIndex) -> None:
        document = index.document
        self._documents[document.id] = LoadedArticle(document, index, document.id)
        self._documents.move_to_end(document.id)
        self._order.setdefault(document.id, len(self._order))
        self._pinned = self._pinned or document.id
        loaded_chars = sum(len(loaded.document.text) for loaded in self._documents.values())
        for document_id in list(self._documents):
            if loaded_chars <= self.settings.library.loaded_chars_budget:
                break
            if document_id in (self._pinned, document.id):
                continue
            loaded_chars -= len(self._documents.pop(document_id).document.text)
            logger.info("memory budget: unloaded %s", document_id)

    def loaded(self, document_id: str) -> LoadedArticle:
        """The article in memory, loaded again from its stored index if it was unloaded."""
        with self._lock:
            if document_id not in self._documents:
                in_archive = self.archive is not None and document_id in self.archive
                self._keep(self.archive.view(document_id) if in_archive else self.store.load_stored(document_id))
            self._documents.move_to_end(document_id)
            return self._documents[document_id]

    def search(self, query: str, document_id: str | None = None) -> list[tuple[LoadedArticle, Hit]]:
        """Hits for ``query`` in one article, in the archive alone (``WHOLE_ARCHIVE``), or (None) in
        every loaded article and the archive."""
        if not self._documents and self.archive is None:
            raise DocumentError("no article is loaded: add one first")
        if document_id == WHOLE_ARCHIVE:
            if self.archive is None:
                raise DocumentError("this server has no archive to ask: ask one article instead")
            return self._hits(self.archive, query, "archive")
        if document_id:
            loaded = self.loaded(document_id)  # an article of the archive is searched in it, filtered to it
            source = self.archive if self.archive is not None and document_id in self.archive else loaded.index
            return self._hits(source, query, document_id, document_id)
        in_archive = self.archive if self.archive is not None else ()
        hits = [
            found
            for loaded in list(self._documents.values())
            if loaded.document.id not in in_archive
            for found in self._hits(loaded.index, query, loaded.document.id)
        ]
        if self.archive is not None:
            hits += self._hits(self.archive, query, "archive")
        return hits

    def _hits(self, source: ChunkSource, query: str, search: str, document_id: str | None = None) -> list[tuple[LoadedArticle, Hit]]:
        return [
            (LoadedArticle(view.document, view, search), hit)
            for view, hit in self.retriever.search(source, query, document_id=document_id)
        ]

    def conversation_article(self, resolution: Resolution, document_id: str | None) -> LoadedArticle | None:
        """The article a conversation is about, when a question asks every article (the archive,
        ``WHOLE_ARCHIVE``, or with None the archive and the loaded articles): a follow-up is read
        in it first, as if it were named."""
        article = resolution.article
        if article is None or document_id not in (None, WHOLE_ARCHIVE):
            return None
        in_archive = self.archive is not None and article in self.archive
        if document_id == WHOLE_ARCHIVE:
            return self.loaded(article) if in_archive else None
        others = self.archive is not None or len(self._documents) > 1
        return self.loaded(article) if (in_archive or article in self._documents) and others else None

    def article_asked_about(self, document_id: str | None, history: Sequence[Turn]) -> DocumentIndex | None:
        """The article a question about "the article" means: the one named, else the one the
        conversation's latest answer came from, else the only article held (the most recently added
        when there are several); None for the archive as a whole (asked of it, or of everything
        with an archive open and no article loaded)."""
        if document_id not in (None, WHOLE_ARCHIVE):
            return self.loaded(document_id).index
        for turn in reversed(history):
            if turn.document_id and (turn.document_id in self._documents or self.archive is not None and turn.document_id in self.archive):
                return self.loaded(turn.document_id).index
        if document_id == WHOLE_ARCHIVE or not self._documents:
            return None
        return self.loaded(self.documents[-1].id).index

    def near_context(self, resolution: Resolution, read: list[Context]) -> tuple[LoadedArticle, Context] | None:
        """The previous answer's sentence and the next one, for an elliptical follow-up, with their
        article, unless the contexts ``read`` already hold them."""
        near = resolution.near
        if near is None:
            return None
        if near.document_id in self._documents:
            loaded = self._documents[near.document_id]
        elif self.archive is not None and near.document_id in self.archive:
            view = self.archive.view(near.document_id)
            loaded = LoadedArticle(view.document, view, "archive")
        else:
            return None
        start, end = sentence_bounds(loaded.index, near.start, near.start)
        following = bisect.bisect_right(loaded.index.sentences, end, key=lambda s: s.start)
        if following < len(loaded.index.sentences):
            end = loaded.index.sentences[following].end
        context = Context(near.document_id, start, end)
        return None if read_already(context, read) else (loaded, context)


def seed_document() -> Document:
    """The default article: the INDUS-X story shipped with the package (qa/seeds/)."""
    return document_from_text(SEED_ARTICLE.read_text(encoding="utf-8"), title=SEED_TITLE, source=str(SEED_ARTICLE))


def load_article(path: str | Path) -> Document:
    """The article in the file ``path``, or at the link ``path`` (``qa.fetch``); the seed file is the
    seed article, under its title, so that ``qa index seeds/indus_x.txt`` builds the very index
    ``qa ask`` then uses."""
    if isinstance(path, str) and path.strip().lower().startswith(("http://", "https://")):
        from qa.fetch import fetch_article  # httpx, imported only for a link

        return fetch_article(path)
    if Path(path).resolve() == SEED_ARTICLE.resolve():
        return seed_document()
    return load_document(path)
