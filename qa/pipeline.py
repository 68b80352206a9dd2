"""Ask an article: retrieve the sentences that may answer, read the exact span, or abstain.

>>> from qa import ask                                   # doctest: +SKIP
>>> answer = ask("What is INDUS-X focused on?")          # doctest: +SKIP
>>> answer.text                                          # doctest: +SKIP
'advancing high-tech cooperation and exploring opportunities for joint research, ...'

Over your own articles:

>>> assistant = Assistant()                              # doctest: +SKIP
>>> doc = assistant.add_file("story.html")               # doctest: +SKIP
>>> assistant.ask("Who won?", document_id=doc.id)         # doctest: +SKIP
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path

from qa.archive import Archive, ArchiveSettings, open_archive
from qa.config import PASTED_TITLE
from qa.conversation import Resolution, Turn, reader_question, resolve
from qa.documents import Document, document_from_text, load_document
from qa.embedding import Embedder
from qa.errors import DocumentError, QuestionError
from qa.index import DocumentIndex, IndexSettings, IndexStore, remove_incomplete
from qa.paths import default_index_dir
from qa.reader import Reader, Span
from qa.retrieval import ArchiveRetriever, Hit, RetrievalSettings, Retriever
from qa.text import normalize_answer

logger = logging.getLogger(__name__)

# Package data: found the same way in a checkout and in an installed wheel.
SEED_ARTICLE = Path(__file__).parent / "seeds" / "indus_x.txt"
SEED_TITLE = "INDUS-X: US and India launch a defence innovation bridge"
MAX_QUESTION_CHARS = 1000
MAX_ALTERNATIVES = 3
SPANS_KEPT = 10  # per reading: enough to find MAX_ALTERNATIVES distinct ones
# Articles kept in memory at once, counted in characters of text: beyond it the least recently
# asked are unloaded (and loaded again from disk when asked). An article in memory takes about
# 50 bytes a character (vectors, chunks, BM25): 10 M characters is about 500 MB.
LOADED_CHARS_BUDGET = 10_000_000
# The document id that asks the archive alone (``Assistant.use_archive``), not the articles added
# one by one (on the page, other visitors' uploads).
WHOLE_ARCHIVE = "*"


@dataclass(frozen=True)
class Alternative:
    """Another candidate answer, with the same fields as the main one."""

    text: str
    score: float
    sentence: str
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    """The answer to one question about one document.

    ``text == document.text[start:end]`` inside ``sentence``. When the article doesn't say,
    ``answerable`` is False, ``text`` is "", ``start``/``end`` are None and ``sentence`` is the
    closest sentence found. ``score`` is a confidence in [0, 1], 0.5 at the abstention threshold.
    """

    question: str
    text: str
    score: float
    answerable: bool
    sentence: str
    sentence_start: int | None
    sentence_end: int | None
    start: int | None
    end: int | None
    document_id: str
    document_title: str
    alternatives: tuple[Alternative, ...] = field(default_factory=tuple)
    # The question as the reader read it, when that differs from ``question``: a follow-up with
    # its references resolved, or a question longer than the reader takes cut to its beginning.
    understood_as: str | None = None

    @property
    def question_was_cut(self) -> bool:
        """True when the question was too long for the reader, which read its beginning."""
        return self.understood_as is not None and self.question.startswith(self.understood_as)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _LoadedDocument:
    document: Document
    index: DocumentIndex
    # None for an article of the archive met in a search of the whole archive (``ArchiveRetriever``).
    retriever: Retriever | None

    @property
    def search(self) -> str:
        """Which search found this article's hits: its own, or the archive's."""
        return self.document.id if self.retriever is not None else "archive"


@dataclass(frozen=True)
class Reading:
    """What retrieval and the reader found for a question, before deciding to answer or abstain.

    ``spans`` are best first; ``span.context_index`` indexes ``contexts``, each a (document,
    start, end) range of the text that was read.
    """

    question: str
    hits: list[tuple[_LoadedDocument, Hit]]
    contexts: list[tuple[_LoadedDocument, int, int]]
    spans: list[Span]
    # True when the top hits' spans were confident enough that the other hits were left unread.
    stopped_early: bool = False
    # The question the reader read: ``question``, or its beginning when it is longer than the reader takes.
    read_as: str = ""

    @cached_property  # read by best, margin and answer(): worked out once per question
    def candidates(self) -> list[Span]:
        """The answer first, then other answers: spans best first, less any with the same words
        as, or overlapping, a better one (an alternative is another answer, not a piece of one)."""
        kept: list[Span] = []
        for span in self.spans:
            key = normalize_answer(span.text)
            if not key or any(
                key == normalize_answer(other.text)
                or (other.context_index == span.context_index and span.start < other.end and other.start < span.end)
                for other in kept
            ):
                continue
            kept.append(span)
        return kept or self.spans[:1]

    @property
    def best(self) -> Span | None:
        return self.candidates[0] if self.spans else None

    @property
    def margin(self) -> float:
        """How far the best span beats "no answer" (-inf when nothing was read)."""
        return self.best.margin if self.spans else float("-inf")


def check_question(question: str) -> str:
    """The question, stripped; QuestionError when it is empty or too long to be a question."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("Please type a question.")
    question = " ".join(question.split())
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"That question is {len(question):,} characters long; please keep it under {MAX_QUESTION_CHARS:,}."
        )
    return question


def _confidence(margin: float, threshold: float) -> float:
    return 1.0 / (1.0 + math.exp(-(margin - threshold)))


class Assistant:
    """Question answering over a set of documents, each with its own persisted index.

    Construction is cheap; the embedder and reader load on first use, once. Articles beyond
    ``loaded_chars_budget`` characters in memory are unloaded, least recently asked first (except
    the first one added), and loaded again from their stored index when asked. With ``stop_early``
    (False: always read every hit), the best span found in the top hits (one per document) answers
    without the other hits being read when it clears the no-answer threshold by the reader's
    calibrated ``early_answer_margin``.
    """

    def __init__(
        self,
        index_dir: str | Path | None = None,
        *,
        reader: Reader | None = None,
        embedder: Embedder | None = None,
        index_settings: IndexSettings = IndexSettings(),
        retrieval_settings: RetrievalSettings = RetrievalSettings(),
        stop_early: bool = True,
        loaded_chars_budget: int = LOADED_CHARS_BUDGET,
    ) -> None:
        self.embedder = embedder or Embedder()
        self.reader = reader or Reader()
        self.store = IndexStore(Path(index_dir or default_index_dir()), self.embedder, index_settings)
        self.retrieval_settings = retrieval_settings
        self.stop_early = stop_early
        self.loaded_chars_budget = loaded_chars_budget
        self._documents: OrderedDict[str, _LoadedDocument] = OrderedDict()  # least recently used first
        self._pinned: str | None = None  # the first article added is never unloaded
        self._order: dict[str, int] = {}  # when each article was first added, for listing them
        self._lock = threading.Lock()
        self.archive: Archive | None = None
        self.archive_retriever: ArchiveRetriever | None = None

    def use_archive(self, root: str | Path, settings: ArchiveSettings = ArchiveSettings()) -> Archive:
        """Ask the archive built under ``root`` (``qa index``) too: a question without a document
        id searches all of it at once; any of its articles can be asked by id."""
        archive = open_archive(root, self.embedder, settings)
        if archive is None:
            raise DocumentError(f"there is no archive in {root}: build one with qa index FILES --archive {root}")
        with self._lock:
            self.archive = archive
            self.archive_retriever = ArchiveRetriever(archive, self.embedder, self.retrieval_settings)
        return archive

    @property
    def documents(self) -> list[Document]:
        """The articles in memory now, in the order they were added."""
        return sorted((loaded.document for loaded in self._documents.values()), key=lambda document: self._order[document.id])

    def document(self, document_id: str) -> Document:
        """The article ``document_id``: one added, or one of the archive (read, not loaded to ask)."""
        if document_id not in self._documents and self.archive is not None and document_id in self.archive:
            return self.archive.document(document_id)
        return self._loaded(document_id).document

    def add(self, document: Document) -> Document:
        """Index ``document`` (or load its index from disk) and make it askable."""
        with self._lock:
            if document.id not in self._documents:
                self._keep(self.store.load_or_build(document), "build")
        return document

    def add_index(self, index: DocumentIndex, bm25: object = "build") -> Document:
        """Make an article askable from its index and its BM25 (``Retriever``'s ``bm25``), both
        built elsewhere (``qa.ingest``)."""
        with self._lock:
            self._keep(index, bm25)
        return index.document

    def _keep(self, index: DocumentIndex, bm25: object) -> None:
        document = index.document
        retriever = Retriever(index, self.embedder, self.retrieval_settings, bm25=bm25)
        self._documents[document.id] = _LoadedDocument(document, index, retriever)
        self._documents.move_to_end(document.id)
        self._order.setdefault(document.id, len(self._order))
        self._pinned = self._pinned or document.id
        loaded_chars = sum(len(loaded.document.text) for loaded in self._documents.values())
        for document_id in list(self._documents):
            if loaded_chars <= self.loaded_chars_budget:
                break
            if document_id in (self._pinned, document.id):
                continue
            loaded_chars -= len(self._documents.pop(document_id).document.text)
            logger.info("memory budget: unloaded %s", document_id)

    def add_text(self, text: str, title: str = PASTED_TITLE) -> Document:
        return self.add(document_from_text(text, title=title))

    def add_file(self, path: str | Path) -> Document:
        return self.add(load_article(path))

    def _loaded(self, document_id: str) -> _LoadedDocument:
        """The article in memory, loaded again from its stored index if it was unloaded."""
        with self._lock:
            if document_id not in self._documents:
                in_archive = self.archive is not None and document_id in self.archive
                self._keep(self.archive.view(document_id) if in_archive else self.store.load_stored(document_id), "build")
            self._documents.move_to_end(document_id)
            return self._documents[document_id]

    def retriever(self, document_id: str) -> Retriever:
        return self._loaded(document_id).retriever

    def retrieve(self, question: str, document_id: str | None = None) -> list[tuple[_LoadedDocument, Hit]]:
        """Hits for ``question`` in one document, in the archive alone (``WHOLE_ARCHIVE``), or (None)
        in every loaded document and the archive."""
        question = check_question(question)
        if not self._documents and self.archive is None:
            raise DocumentError("no article is loaded: add one first")
        if document_id == WHOLE_ARCHIVE:
            if self.archive_retriever is None:
                raise DocumentError("there is no archive to ask: open one with use_archive")
            return self._archive_hits(question)
        if document_id:
            loaded = self._loaded(document_id)
            return [(loaded, hit) for hit in loaded.retriever.search(question)]
        in_archive = self.archive if self.archive is not None else ()
        hits = [
            (loaded, hit)
            for loaded in list(self._documents.values())
            if loaded.document.id not in in_archive
            for hit in loaded.retriever.search(question)
        ]
        if self.archive_retriever is not None:
            hits += self._archive_hits(question)
        return hits

    def _archive_hits(self, question: str) -> list[tuple[_LoadedDocument, Hit]]:
        return [(_LoadedDocument(view.document, view, None), hit) for view, hit in self.archive_retriever.search(question)]

    def read(self, question: str, document_id: str | None = None, *, history: Sequence[Turn] = ()) -> Reading:
        """Retrieve and read, without deciding yet: the ranked spans behind an answer.

        With ``history`` (the earlier turns of a conversation, oldest first), the question is
        resolved against them (``qa.conversation.resolve``): retrieval searches with what it refers
        to, the reader reads it with its references resolved, and an elliptical follow-up is read
        in the previous answer's sentences too. Without, it is read exactly as asked. A follow-up
        asked of every article (an archive, or several loaded ones) is read first in the article the
        conversation is about, as if it were named, and in all of them (searched with
        ``Resolution.wider_query``) only when that article has no confident answer.

        Each document's top hit is read first. The sentences of the other hits not read yet follow,
        as runs of consecutive sentences, only when no span found so far is confidently an answer
        (``ReaderSettings.early_answer_margin``): most questions stop after the top hit, at about
        half the cost; the others, abstentions included, get the same spans and margins as with
        ``stop_early=False``, which the no-answer threshold was calibrated with.
        """
        question = check_question(question)
        resolution = resolve(question, history)
        query = resolution.query[:MAX_QUESTION_CHARS]
        read_as = self.reader.fit_question(resolution.question)
        # A reader trained on conversations reads a follow-up with its history, as it was trained;
        # one trained without reads it with its references resolved.
        history_turns = self.reader.settings.history_turns
        reader_input = self.reader.fit_question(reader_question(question, history, history_turns)) if history_turns else read_as
        article = self._conversation_article(resolution, document_id)
        if article is None:
            return self._read_hits(question, read_as, reader_input, resolution, self.retrieve(query, document_id))
        own = self._read_hits(question, read_as, reader_input, resolution, [(article, hit) for hit in article.retriever.search(query)])
        if own.spans and self.reader.is_answer(own.best):
            return own
        # What the article's own reading read (its hits, the previous answer's sentences) is not read again.
        wider_query = (resolution.wider_query or query)[:MAX_QUESTION_CHARS]
        unread = [
            (loaded, hit)
            for loaded, hit in self.retrieve(wider_query, document_id)
            if not _read_already(loaded.document.id, hit.context_start, hit.context_end, own.contexts)
        ]
        wider = self._read_hits(question, read_as, reader_input, replace(resolution, near=None), unread)
        spans = _spans_read_together(own.spans, wider.spans, len(own.contexts))
        return Reading(question, own.hits + wider.hits, own.contexts + wider.contexts, spans, read_as=read_as)

    def _conversation_article(self, resolution: Resolution, document_id: str | None) -> _LoadedDocument | None:
        """The article a conversation is about, when a question asks every article (the archive,
        ``WHOLE_ARCHIVE``, or with None the archive and the loaded articles): a follow-up is read
        in it first, as if it were named."""
        article = resolution.article
        if article is None or document_id not in (None, WHOLE_ARCHIVE):
            return None
        in_archive = self.archive is not None and article in self.archive
        if document_id == WHOLE_ARCHIVE:
            return self._loaded(article) if in_archive else None
        others = self.archive is not None or len(self._documents) > 1
        return self._loaded(article) if (in_archive or article in self._documents) and others else None

    def _read_hits(
        self, question: str, read_as: str, reader_input: str, resolution: Resolution, hits: list[tuple[_LoadedDocument, Hit]]
    ) -> Reading:
        first, rest = _reading_plan(hits)
        first += self._near_contexts(resolution, first)
        spans = self._spans(reader_input, first)
        # Returned as it is only if nothing is left to read, or if confident enough to stop early.
        reading = Reading(question, hits, first, spans, stopped_early=bool(rest), read_as=read_as)
        settings = self.reader.settings
        if not rest or self.stop_early and reading.margin > settings.no_answer_threshold + settings.early_answer_margin:
            return reading
        spans = _spans_read_together(spans, self._spans(reader_input, rest), len(first))
        return Reading(question, hits, first + rest, spans, read_as=read_as)

    def _near_contexts(self, resolution: Resolution, read: list[tuple[_LoadedDocument, int, int]]) -> list:
        """The previous answer's sentence and the next one, for an elliptical follow-up, unless
        the top hits already hold them."""
        near_id = resolution.near_document_id
        if resolution.near is None or near_id is None:
            return []
        if near_id in self._documents:
            loaded = self._documents[near_id]
        elif self.archive is not None and near_id in self.archive:
            view = self.archive.view(near_id)
            loaded = _LoadedDocument(view.document, view, None)
        else:
            return []
        start, end = _sentence_bounds(loaded.index, resolution.near, resolution.near)
        following = bisect.bisect_right(loaded.index.sentences, end, key=lambda s: s.start)
        if following < len(loaded.index.sentences):
            end = loaded.index.sentences[following].end
        if _read_already(near_id, start, end, read):
            return []
        return [(loaded, start, end)]

    def _spans(self, question: str, contexts: list[tuple[_LoadedDocument, int, int]]) -> list[Span]:
        texts = [loaded.document.text[start:end] for loaded, start, end in contexts]
        return self.reader.read(question, texts, top_k=SPANS_KEPT)

    def ask(self, question: str, document_id: str | None = None, *, history: Sequence[Turn] = ()) -> Answer:
        """Answer ``question`` from one document (or from all loaded ones), in the light of the
        earlier turns of its conversation, if any (see ``read``)."""
        return self.answer(self.read(question, document_id, history=history))

    def answer(self, reading: Reading) -> Answer:
        """The answer a reading gives: its best span if that beats the no-answer threshold."""
        question, contexts, spans = reading.question, reading.contexts, reading.spans
        threshold = self.reader.settings.no_answer_threshold
        understood_as = reading.read_as if reading.read_as and reading.read_as != question else None
        if not spans:
            loaded, hit = reading.hits[0]
            return _answer(
                question, loaded, None, near=hit.context_start, score=0.0, alternatives=(), understood_as=understood_as
            )
        candidates = reading.candidates
        best = candidates[0]
        alternatives = tuple(
            self._alternative(span, contexts, threshold) for span in candidates[1 : 1 + MAX_ALTERNATIVES]
        )
        loaded, context_start, _ = contexts[best.context_index]
        start, end = context_start + best.start, context_start + best.end
        return _answer(
            question,
            loaded,
            (start, end) if self.reader.is_answer(best) else None,
            near=start,
            score=_confidence(best.margin, threshold),
            alternatives=alternatives,
            understood_as=understood_as,
        )

    def _alternative(self, span: Span, contexts: list, threshold: float) -> Alternative:
        loaded, context_start, _ = contexts[span.context_index]
        start, end = context_start + span.start, context_start + span.end
        sentence_start, sentence_end = _sentence_bounds(loaded.index, start, end)
        return Alternative(
            text=span.text,
            score=_confidence(span.margin, threshold),
            sentence=loaded.document.text[sentence_start:sentence_end],
            start=start,
            end=end,
        )


def _answer(
    question: str,
    loaded: _LoadedDocument,
    span: tuple[int, int] | None,
    near: int,
    score: float,
    alternatives: tuple[Alternative, ...],
    understood_as: str | None = None,
) -> Answer:
    """The answer ``span`` of the document, or (``span`` None) an abstention citing the sentence at ``near``."""
    start, end = span if span else (near, near)
    sentence_start, sentence_end = _sentence_bounds(loaded.index, start, end)
    text = loaded.document.text
    return Answer(
        question=question,
        text=text[start:end] if span else "",
        score=score,
        answerable=span is not None,
        sentence=text[sentence_start:sentence_end],
        sentence_start=sentence_start,
        sentence_end=sentence_end,
        start=span[0] if span else None,
        end=span[1] if span else None,
        document_id=loaded.document.id,
        document_title=loaded.document.title,
        alternatives=alternatives,
        understood_as=understood_as,
    )


def _reading_plan(hits: list[tuple[_LoadedDocument, Hit]]) -> tuple[list, list]:
    """Reader contexts (document, start, end) in two rounds, so that no sentence is read twice:
    the top hit of each search (one per article searched alone, one for the whole archive), then
    the sentences of the other hits outside those, as runs of consecutive sentences of an article.
    Hits come best first within each search."""
    leaders: dict[str, tuple[_LoadedDocument, Hit]] = {}
    for loaded, hit in hits:
        leaders.setdefault(loaded.search, (loaded, hit))
    first = [(loaded, hit.context_start, hit.context_end) for loaded, hit in leaders.values()]
    read: dict[str, set[int]] = {}
    for loaded, hit in leaders.values():
        read.setdefault(loaded.document.id, set()).update(range(hit.context_first, hit.context_last + 1))
    others: dict[str, tuple[_LoadedDocument, set[int]]] = {}
    for loaded, hit in hits:
        others.setdefault(loaded.document.id, (loaded, set()))[1].update(range(hit.context_first, hit.context_last + 1))
    rest = []
    for document_id, (loaded, numbers) in others.items():
        unread = sorted(numbers - read.get(document_id, set()))
        sentences = loaded.index.sentences
        # Consecutive numbers share number - position: one group per run.
        for _, run in itertools.groupby(enumerate(unread), key=lambda pair: pair[1] - pair[0]):
            run_numbers = [number for _, number in run]
            rest.append((loaded, sentences[run_numbers[0]].start, sentences[run_numbers[-1]].end))
    return first, rest


def _read_already(document_id: str, start: int, end: int, contexts: list[tuple[_LoadedDocument, int, int]]) -> bool:
    """True when one of ``contexts`` holds the text [start, end) of the document ``document_id``."""
    return any(other.document.id == document_id and other_start <= start and end <= other_end for other, other_start, other_end in contexts)


def _spans_read_together(first: list[Span], more: list[Span], offset: int) -> list[Span]:
    """The spans of two reads as if their contexts had been read in one: ``more``'s context
    indexes follow ``first``'s, and all are ranked by margin (each against its own context)."""
    spans = first + [replace(span, context_index=span.context_index + offset) for span in more]
    return sorted(spans, key=lambda span: span.margin, reverse=True)[:SPANS_KEPT]


def _sentence_bounds(index: DocumentIndex, start: int, end: int) -> tuple[int, int]:
    """Start of the sentence holding ``start`` to the end of the one holding ``end``."""
    sentences = index.sentences
    first = max(bisect.bisect_right(sentences, start, key=lambda s: s.start) - 1, 0)
    last = max(bisect.bisect_right(sentences, max(end - 1, start), key=lambda s: s.start) - 1, first)
    return sentences[first].start, sentences[last].end


def seed_document() -> Document:
    """The default article: the INDUS-X story shipped with the package (qa/seeds/)."""
    return document_from_text(SEED_ARTICLE.read_text(encoding="utf-8"), title=SEED_TITLE, source=str(SEED_ARTICLE))


def load_article(path: str | Path) -> Document:
    """The article in the file ``path``; the seed file is the seed article, under its title, so
    that ``qa index seeds/indus_x.txt`` builds the very index ``qa ask`` then uses."""
    if Path(path).resolve() == SEED_ARTICLE.resolve():
        return seed_document()
    return load_document(path)


_default_assistant: Assistant | None = None
_default_lock = threading.Lock()


def default_assistant() -> Assistant:
    """The assistant over the seed article (INDUS-X), created once per process."""
    global _default_assistant
    with _default_lock:
        if _default_assistant is None:
            assistant = Assistant()
            assistant.add(seed_document())
            _default_assistant = assistant
    return _default_assistant


def ready_default_assistant() -> Assistant:
    """``default_assistant()`` with its seed index built (or loaded) and both models in memory, so
    that no request waits on start-up work. Debris of builds killed with an earlier server goes."""
    assistant = default_assistant()
    remove_incomplete(assistant.store.root)
    assistant.embedder.load()
    assistant.reader.load()
    return assistant


def ask(question: str) -> Answer:
    """Answer a question about the seed article: ``ask("What does INDUS-X aim at?")``."""
    return default_assistant().ask(question)
