"""Ask an article: retrieve the sentences that may answer, read the exact span, or abstain.

>>> from qa import ask
>>> ask("What is INDUS-X focused on?").text
'advancing high-tech cooperation'

Over your own articles (``add_file`` reads .txt, .md and .html files)::

    assistant = Assistant()
    doc = assistant.add_file("story.html")
    assistant.ask("Who won?", document_id=doc.id)
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from qa.answer import VERDICT, Alternative, Answer, Citation, Context, Passage
from qa.answer_check import AnswerCheck, Evidence, features
from qa.article_questions import QuestionKinds
from qa.articles import ArticleStore
from qa.config import Settings, load_settings
from qa.documents import Document
from qa.embedding import Embedder
from qa.entities import EntityFinder
from qa.errors import QuestionError
from qa.follow_ups import Resolution, Turn, reader_question, resolve, turns_about
from qa.language import not_english_note
from qa.library import Library, LoadedArticle, seed_document
from qa.overview import Overview
from qa.paths import default_index_dir
from qa.reader import Reader, Span
from qa.reading import (
    SPANS_KEPT,
    Reading,
    read_already,
    reading_plan,
    sentence_bounds,
    spans_read_together,
)
from qa.shaped import NOT_STATED, Found, reply_in_shape
from qa.shapes import FACT, LIST, VERDICT_SHAPES, question_shape
from qa.store import Corpus
from qa.text import question_form
from qa.versions import remove_incomplete

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000
MAX_ALTERNATIVES = 3


def check_question(question: str) -> str:
    """The question, stripped; QuestionError when it is empty, too long to be a question, or written
    in a script the reader can't read."""
    question = question_form(question) if isinstance(question, str) else ""
    if not question.replace("\ufffd", "").strip():  # nothing, or nothing but what could not be encoded
        raise QuestionError("Please type a question.")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"That question is {len(question):,} characters long; please keep it under {MAX_QUESTION_CHARS:,}."
        )
    if note := not_english_note(question):
        raise QuestionError(f"{note.replace('This is', 'Your question is')} Please ask in English.")
    return question


def _confidence(margin: float, threshold: float) -> float:
    return 1.0 / (1.0 + math.exp(-(margin - threshold)))


class Assistant:
    """Question answering over a set of articles (a ``Library``): retrieve, read, answer.

    Construction is cheap; the embedder and reader load on first use, once. ``settings``: the
    configuration tree (``qa.config``), by default its defaults changed by ``$QA_CONFIG``. With
    ``stop_early`` (False: always read every hit), the best span found in the top hits (one per
    document) answers without the other hits being read when it clears the no-answer threshold by
    the reader's calibrated ``early_answer_margin``.
    """

    def __init__(
        self,
        index_dir: str | Path | None = None,
        *,
        reader: Reader | None = None,
        embedder: Embedder | None = None,
        settings: Settings | None = None,
        stop_early: bool = True,
    ) -> None:
        self.settings = settings = settings or load_settings()
        self.embedder = embedder or Embedder()
        self.reader = reader or Reader()
        self.store = ArticleStore(Path(index_dir or default_index_dir()), self.embedder, settings.article_index)
        self.library = Library(self.store, self.embedder, settings)
        self.stop_early = stop_early
        self.overview = Overview(self.embedder.embed)
        self.question_kinds = QuestionKinds(self.embedder.embed_query)
        self.answer_check = AnswerCheck()
        # The library's public surface, as the assistant's own.
        self.add, self.add_text, self.add_file, self.add_index = (
            self.library.add, self.library.add_text, self.library.add_file, self.library.add_index,
        )
        self.document, self.use_archive = self.library.document, self.library.use_archive

    @property
    def documents(self) -> list[Document]:
        return self.library.documents

    @property
    def archive(self) -> Corpus | None:
        return self.library.archive

    def read(self, question: str, document_id: str | None = None, *, history: Sequence[Turn] = ()) -> Reading:
        """Retrieve and read, without deciding yet: the ranked spans behind an answer.

        With ``history`` (the earlier turns of a conversation, oldest first), a question that leans
        on it is resolved against it (``qa.follow_ups.resolve``): retrieval searches with what it
        refers to, and the reader reads it with its history (``reader_question``) or, a reader
        trained without, with its references resolved; an elliptical follow-up is read in the
        previous answer's sentences too. Any other question is read exactly as if asked first. A
        follow-up asked of every article is read first in the article the conversation is about,
        and in all of them (``Resolution.wider_query``) only when that one has no confident answer.

        Each document's top hit is read first; the other hits' unread sentences only when no span
        so far is confidently an answer (``ReaderSettings.early_answer_margin``): most questions stop
        after the top hit, at about half the cost, and the others get the same spans and margins as
        with ``stop_early=False``, which the no-answer threshold was calibrated with.
        """
        question = check_question(question)
        history = turns_about(history, document_id)
        resolution = resolve(question, history)
        query = resolution.query[:MAX_QUESTION_CHARS]
        read_as = self.reader.fit_question(resolution.question)
        history_turns = self.reader.settings.history_turns
        reader_input = self.reader.fit_question(reader_question(question, history, history_turns)) if history_turns else read_as
        article = self.library.conversation_article(resolution, document_id)
        if article is None:
            return self._read_hits(question, read_as, reader_input, resolution, self.library.search(query, document_id))
        own = self._read_hits(question, read_as, reader_input, resolution, self.library.search(query, article.document.id))
        if own.spans and self.reader.is_answer(own.best):
            return own
        # What the article's own reading read (its hits, the previous answer's sentences) is not read again.
        unread = [
            (loaded, hit)
            for loaded, hit in self.library.search((resolution.wider_query or query)[:MAX_QUESTION_CHARS], document_id)
            if not read_already(hit.context, own.contexts)
        ]
        wider = self._read_hits(question, read_as, reader_input, replace(resolution, near=None), unread)
        spans = spans_read_together(own.spans, wider.spans, len(own.contexts))
        articles = {**own.articles, **wider.articles}
        return Reading(question, own.hits + wider.hits, own.contexts + wider.contexts, spans, articles, read_as=read_as)

    def _read_hits(self, question: str, read_as: str, reader_input: str, resolution: Resolution, hits: list) -> Reading:
        first, rest = reading_plan(hits)
        articles = {loaded.document.id: loaded for loaded, _ in hits}
        if near := self.library.near_context(resolution, first):
            loaded, context = near
            articles.setdefault(context.document_id, loaded)
            first.append(context)
        spans = self._spans(reader_input, first, articles)
        # Returned as it is only if nothing is left to read, or if confident enough to stop early.
        reading = Reading(question, hits, first, spans, articles, stopped_early=bool(rest), read_as=read_as)
        settings = self.reader.settings
        if not rest or self.stop_early and reading.margin > settings.no_answer_threshold + settings.early_answer_margin:
            return reading
        spans = spans_read_together(spans, self._spans(reader_input, rest, articles), len(first))
        return Reading(question, hits, first + rest, spans, articles, read_as=read_as)

    def _spans(self, question: str, contexts: list[Context], articles: dict[str, LoadedArticle]) -> list[Span]:
        texts = [context.of(articles[context.document_id].document.text) for context in contexts]
        return self.reader.read(question, texts, top_k=SPANS_KEPT)

    def ask(self, question: str, document_id: str | None = None, *, history: Sequence[Turn] = ()) -> Answer:
        """Answer ``question`` from one document (or from all loaded ones), in the light of the
        earlier turns of its conversation, if any (see ``read``); a question about the whole
        article as ``article_answer`` does."""
        return self.article_answer(question, document_id, history=history) or self.answer(self.read(question, document_id, history=history))

    def article_answer(self, question: str, document_id: str | None = None, *, history: Sequence[Turn] = ()) -> Answer | None:
        """The answer to a question about the whole article ("What is it about?", "Who is
        mentioned?": ``qa.article_questions``), from the article the question or the conversation
        is about (``qa.overview``); None for a question about a fact in it."""
        kind = self.question_kinds.kind(check_question(question))
        if kind is None:
            return None
        return self.overview.reply(question, kind, self.library.article_asked_about(document_id, history), self.archive)

    def answer(self, reading: Reading) -> Answer:
        """The answer a reading gives, in the question's shape (``qa.shapes``): a fact question's
        best span if that beats the no-answer threshold; a verdict, a reason, a quote, a count or
        items (``shaped``) for a question of another shape."""
        answer = answer_from(reading, self.reader, self.chance_right(reading), self.answer_check.threshold)
        shape = question_shape(reading.question)
        if shape == FACT:
            return answer
        if not reading.spans:  # nothing read: the article doesn't say, in the question's shape
            return replace(answer, kind=_kind_of(shape), verdict=NOT_STATED if shape in VERDICT_SHAPES else None)
        return shaped(shape, reading, answer, self.reader.settings.no_answer_threshold, self.overview.entities)

    def check_features(self, reading: Reading) -> list[float]:
        """What the answer check reads of ``reading`` (``qa.answer_check.features``)."""
        question = reading.read_as or reading.question
        return features(Evidence(question, reading.candidates, reading.spans, self.reader.settings.no_answer_threshold))

    def chance_right(self, reading: Reading) -> float | None:
        """The chance, calibrated, that ``reading``'s best span answers its question (None: nothing was read)."""
        return self.answer_check.probability(self.check_features(reading)) if reading.spans else None


def answer_from(reading: Reading, reader: Reader, chance_right: float | None, abstain_below: float) -> Answer:
    """The answer ``reading`` gives: its best span if ``reader`` judges it an answer and the answer
    check finds it likely enough to be right (``chance_right``, its confidence), with the next best
    as alternatives; else the closest sentence, declined. Alternatives and passages show the reader's margin squashed at
    its threshold: a ranking, not a probability."""
    question, spans = reading.question, reading.spans
    threshold = reader.settings.no_answer_threshold
    understood_as = reading.read_as if reading.read_as and reading.read_as != question else None
    if not spans:
        loaded, hit = reading.hits[0]
        return _answer(question, loaded, None, near=hit.context.start, score=0.0, alternatives=(), understood_as=understood_as)
    best, *others = reading.candidates
    alternatives = tuple(_alternative(span, reading, threshold) for span in others[:MAX_ALTERNATIVES])
    found = _in_article(best, reading)
    # Both must hold: the check's F1-best threshold (with a tenth of questions unanswerable) sits at
    # the low end of its map and alone answered more than the reader does (SQuAD 2.0's measuring
    # split, unanswerable declined 11.6% -> 6.7%); the check's part is the confidence shown.
    span = found if reader.is_answer(best) and chance_right >= abstain_below else None
    answer = _answer(question, reading.articles[found.document_id], span, near=found.start,
                     score=chance_right, alternatives=alternatives, understood_as=understood_as)
    return replace(answer, read=_passages(reading, threshold))


def shaped(shape: str, reading: Reading, answer: Answer, threshold: float, entities: EntityFinder) -> Answer:
    """``answer`` remade in the question's ``shape`` (``qa.shaped``) from what ``reading`` found:
    a verdict, a clause, sentences, a quote, a count or items (names found by ``entities``), each
    where it is in the article."""
    best = _in_article(reading.best, reading)
    loaded = reading.articles[best.document_id]
    text, sentences = loaded.document.text, loaded.index.sentences
    found = Found(text, sentences, best.start, best.end, reading.margin - threshold)
    names = [(start, end, label) for _, start, end, label in entities.in_text(sentences[found.sentence].text)] if shape == LIST else []
    reply = reply_in_shape(shape, reading.read_as or reading.question, found, names)
    if shape == LIST and len(reply.pieces) < 2:
        # Nothing listed where the answer is: the fact answer ("What charges did he face?" asks
        # for a list in its words, and 28 of nyt_news_dev's 55 such questions, read by hand, have one answer).
        return answer
    kind = _kind_of(shape)
    if not reply.text:
        return replace(answer, text="", span=None, answerable=False, score=reply.score, kind=kind, verdict=reply.verdict,
                       alternatives=())
    pieces = [Context(loaded.document.id, start, end) for start, end in reply.pieces]
    sentence = sentences[reply.sentence]
    sentence_span = Context(loaded.document.id, sentence.start, sentence.end)
    citations = tuple(
        Citation(piece.of(text), piece, Context(loaded.document.id, *sentence_bounds(loaded.index, piece.start, piece.end)))
        for piece in pieces
    ) if reply.cited else ()
    return replace(
        answer, text=reply.text, span=pieces[0], answerable=True, score=reply.score, sentence=sentence.text,
        sentence_span=sentence_span, kind=kind, verdict=reply.verdict, citations=citations, alternatives=(),
    )


def _kind_of(shape: str) -> str:
    """The ``Answer.kind`` of a reply of ``shape``: a yes/no question's and a claim's is a verdict."""
    return VERDICT if shape in VERDICT_SHAPES else shape


def _in_article(span: Span, reading: Reading) -> Context:
    """Where ``span`` (found in one of the reading's contexts) is in its article."""
    context = reading.contexts[span.context_index]
    return Context(context.document_id, context.start + span.start, context.start + span.end)


def _passages(reading: Reading, threshold: float) -> tuple[Passage, ...]:
    """The passages read, each with the best span found in it (none: "", and confidence 0)."""
    best: dict[int, Span] = {}
    for span in reading.spans:
        if span.context_index not in best or span.margin > best[span.context_index].margin:
            best[span.context_index] = span
    return tuple(
        Passage(context.of(reading.articles[context.document_id].document.text), context,
                best[i].text if i in best else "", _confidence(best[i].margin, threshold) if i in best else 0.0)
        for i, context in enumerate(reading.contexts)
    )


def _alternative(span: Span, reading: Reading, threshold: float) -> Alternative:
    found = _in_article(span, reading)
    loaded = reading.articles[found.document_id]
    sentence_start, sentence_end = sentence_bounds(loaded.index, found.start, found.end)
    return Alternative(
        text=span.text,
        score=_confidence(span.margin, threshold),
        sentence=loaded.document.text[sentence_start:sentence_end],
        span=found,
    )


def _answer(
    question: str,
    loaded: LoadedArticle,
    span: Context | None,
    near: int,
    score: float,
    alternatives: tuple[Alternative, ...],
    understood_as: str | None = None,
) -> Answer:
    """The answer ``span`` of the document, or (``span`` None) an abstention citing the sentence at ``near``."""
    start, end = (span.start, span.end) if span else (near, near)
    sentence = Context(loaded.document.id, *sentence_bounds(loaded.index, start, end))
    text = loaded.document.text
    return Answer(
        question=question,
        text=span.of(text) if span else "",
        score=score,
        answerable=span is not None,
        sentence=sentence.of(text),
        span=span,
        sentence_span=sentence,
        document_id=loaded.document.id,
        document_title=loaded.document.title,
        document_byline=loaded.document.byline,
        alternatives=alternatives,
        understood_as=understood_as,
    )


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
