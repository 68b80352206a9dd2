"""The chatbot measured end to end: each question asked of its whole article (or of one corpus of
every article among distractors), as ``Assistant.ask`` answers it, alone or in conversation; the
report's F1, retrieval recall, abstentions, clean answers and latency."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from qa.answer import Answer, Context
from qa.decoding import QUOTES
from qa.documents import Document, make_document_id
from qa.errors import QuestionError
from qa.follow_ups import Turn, resolve
from qa.pipeline import MAX_QUESTION_CHARS
from qa.reading import Reading
from qa.retrieval import Hit
from qa.training.evaluate import Calibration, Outcome, ReaderGuess, outcome
from qa.training.squad import Article, Question, Scores, score_predictions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EndToEndReport:
    """Whole-article question answering: what a chatbot user would get."""

    scores: Scores
    predictions: dict[str, str]
    # The best span and its margin, to score other thresholds (exactly so with early answers off,
    # as calibration runs: an early answer keeps the margin of the top hit alone).
    guesses: dict[str, ReaderGuess]
    recall_at: dict[int, float]  # k -> share of answerable questions with a gold span in a top-k chunk
    context_recall: float  # share with a gold span inside the reader's contexts
    abstention_precision: float | None  # of the abstentions, the share on unanswerable questions
    abstention_recall: float | None  # of the unanswerable questions, the share abstained
    abstention_rate: float
    stopped_early_rate: float  # share answered from the top hit, the other hits left unread
    unclean_answer_rate: float  # share of answers with an unbalanced quote or dangling punctuation
    latency_p50: float
    latency_p95: float
    articles: int
    outcomes: tuple[Outcome, ...] = ()  # each reply's confidence and whether it is right

    def summary(self) -> str:
        recall = "  ".join(f"recall@{k} {100 * v:.1f}%" for k, v in sorted(self.recall_at.items()))

        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{100 * value:.1f}%"

        return "\n".join(
            [
                self.scores.summary(),
                f"{recall}  reader-context recall {100 * self.context_recall:.1f}%",
                f"abstained on {100 * self.abstention_rate:.1f}% of questions; "
                f"abstention precision {pct(self.abstention_precision)}  recall {pct(self.abstention_recall)}",
                f"answered from the top hit alone: {100 * self.stopped_early_rate:.1f}% of questions",
                f"answers with an unbalanced quote or dangling punctuation: {100 * self.unclean_answer_rate:.1f}%",
                Calibration.of(self.outcomes).summary(),
                f"latency per question p50 {1000 * self.latency_p50:.0f} ms  p95 {1000 * self.latency_p95:.0f} ms"
                f"  ({self.articles} articles)",
            ]
        )


def article_document(article: Article) -> tuple[Document, list[int]]:
    """An article as one document (paragraphs joined by blank lines) and each paragraph's offset."""
    offsets, parts, position = [], [], 0
    for context, _ in article.paragraphs:
        offsets.append(position)
        parts.append(context)
        position += len(context) + 2
    text = "\n\n".join(parts)
    title = article.title or "article"
    return Document(id=make_document_id(title, text), title=title, text=text), offsets


DANGLING_EDGE = frozenset(",;:")


def is_unclean(answer: str) -> bool:
    """An answer with an unbalanced (odd) number of double quotes, or that starts or ends with a
    comma, semicolon or colon.

    >>> is_unclean('a bridge,"'), is_unclean('"Jaws"'), is_unclean("Sunday")
    (True, False, False)
    """
    quotes = sum(ch in QUOTES for ch in answer)
    return quotes % 2 == 1 or answer[:1] in DANGLING_EDGE or answer[-1:] in DANGLING_EDGE


def unclean_answer_rate(answers: Iterable[str]) -> float:
    """The share of non-empty ``answers`` that are unclean (``is_unclean``)."""
    given = [a for a in answers if a]
    return sum(map(is_unclean, given)) / len(given) if given else 0.0


def gold_turn(question: Question, offset: int, document_id: str) -> Turn:
    """A question and its first gold answer (at ``offset`` + its start in the paragraph), as an
    earlier turn of a conversation."""
    if not question.answers:
        return Turn(question.question, "", document_id=document_id)
    start = offset + question.answer_starts[0]
    return Turn(question.question, question.answers[0], Context(document_id, start, start + len(question.answers[0])))


def reply(assistant, question: str, document_id: str, history: Sequence[Turn] = ()) -> tuple[Reading, Answer]:
    """What the reader read for ``question`` and the answer a user gets, as ``Assistant.ask`` gives
    it (a question about the whole article answered as one)."""
    reading = assistant.read(question, document_id=document_id, history=history)
    return reading, assistant.article_answer(question, document_id, history=history) or assistant.answer(reading)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q / 100
    low, high = int(position), min(int(position) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class _Tally:
    """What end-to-end evaluation counts, question by question."""

    recall_ks: tuple[int, ...]
    reader_hits: int  # hits whose contexts the reader reads (``RetrievalSettings.top_k``)
    questions: list[Question] = field(default_factory=list)
    predictions: dict[str, str] = field(default_factory=dict)
    guesses: dict[str, ReaderGuess] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    found: dict[int, int] = field(default_factory=dict)
    in_context: int = 0
    answerable: int = 0
    abstained: int = 0
    abstained_unanswerable: int = 0
    unanswerable: int = 0
    stopped_early: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, question: Question, reading, answer, seconds: float, offset: int, hits: list[tuple[bool, Hit]]) -> None:
        """One question's outcome; ``hits`` are retrieval's top hits for it, each with whether it
        is in the question's own article (whose text starts at ``offset`` in its document)."""
        self.questions.append(question)
        self.latencies.append(seconds)
        self.predictions[question.id] = answer.text
        self.guesses[question.id] = ReaderGuess(reading.best.text if reading.best else "", reading.margin)
        self.abstained += not answer.answerable
        self.stopped_early += reading.stopped_early
        declined = reading.best.text if reading.best else ""
        self.outcomes.append(outcome(question, answer.score, answer.answerable, answer.text if answer.answerable else declined))
        if not question.answerable:
            self.unanswerable += 1
            self.abstained_unanswerable += not answer.answerable
            return
        self.answerable += 1
        gold = [(offset + s, offset + s + len(t)) for s, t in zip(question.answer_starts, question.answers)]

        def holds(start: int, end: int) -> bool:
            return any(start <= s and e <= end for s, e in gold)

        for k in self.recall_ks:
            self.found[k] = self.found.get(k, 0) + any(own and holds(h.chunk.start, h.chunk.end) for own, h in hits[:k])
        self.in_context += any(own and holds(h.context.start, h.context.end) for own, h in hits[: self.reader_hits])

    def report(self, articles: int) -> EndToEndReport:
        count, answerable = len(self.questions), self.answerable
        return EndToEndReport(
            scores=score_predictions(self.questions, self.predictions),
            predictions=self.predictions,
            guesses=self.guesses,
            recall_at={k: self.found.get(k, 0) / answerable if answerable else 0.0 for k in self.recall_ks},
            context_recall=self.in_context / answerable if answerable else 0.0,
            abstention_precision=self.abstained_unanswerable / self.abstained if self.abstained else None,
            abstention_recall=self.abstained_unanswerable / self.unanswerable if self.unanswerable else None,
            abstention_rate=self.abstained / count if count else 0.0,
            stopped_early_rate=self.stopped_early / count if count else 0.0,
            unclean_answer_rate=unclean_answer_rate(self.predictions.values()),
            latency_p50=percentile(self.latencies, 50),
            latency_p95=percentile(self.latencies, 95),
            articles=articles,
            outcomes=tuple(self.outcomes),
        )


def evaluate_end_to_end(
    articles: list[Article],
    assistant_factory,
    recall_ks: tuple[int, ...] = (1, 3, 5),
    progress: bool = True,
    conversation: bool = False,
) -> EndToEndReport:
    """Ask every question of each article against the whole article, as ``Assistant.ask`` does.

    ``assistant_factory(index_dir)`` makes the assistant; each article gets its own index there.
    With ``conversation``, each article's questions are asked in turn order (``Question.turn``,
    else file order) with the *gold* history: the earlier questions and their first gold answers,
    as CoQA's own evaluation does.
    """
    with tempfile.TemporaryDirectory(prefix="qa-eval-index-") as index_dir:
        assistant = assistant_factory(Path(index_dir))
        tally = _Tally(recall_ks, assistant.settings.retrieval.top_k)
        total = sum(len(qs) for a in articles for _, qs in a.paragraphs)
        bar = tqdm(total=total, desc="asking", unit="q", disable=not progress, mininterval=2)
        for article in articles:
            document, offsets = article_document(article)
            assistant.add(document)
            index = assistant.library.loaded(document.id).index
            history: list[Turn] = []
            for offset, question in _asked(article, offsets, conversation):
                began = time.perf_counter()
                reading, answer = reply(assistant, question.question, document.id, history)
                seconds = time.perf_counter() - began
                query = resolve(question.question, history).query[:MAX_QUESTION_CHARS]
                found = assistant.library.retriever.search(index, query, top_k=max(recall_ks)) if question.answerable else []
                tally.add(question, reading, answer, seconds, offset, [(True, hit) for _, hit in found])
                if conversation:
                    history.append(gold_turn(question, offset, document.id))
                bar.update(1)
        bar.close()
    return tally.report(len(articles))


def _asked(article: Article, offsets: list[int], conversation: bool) -> list[tuple[int, Question]]:
    """An article's questions, each with its paragraph's offset in the article's document: in
    file order, or in turn order (``Question.turn``) for a conversation."""
    asked = [(offset, q) for offset, (_, qs) in zip(offsets, article.paragraphs) for q in qs]
    if conversation:
        asked.sort(key=lambda pair: pair[1].turn if pair[1].turn is not None else 0)
    return asked


def distractor_documents(articles: list[Article]) -> list[Document]:
    """Each paragraph of ``articles`` as a document of its own, for a corpus to search through."""
    documents = []
    for article in articles:
        for number, (context, _) in enumerate(article.paragraphs, start=1):
            title = f"{article.title or 'article'} (paragraph {number})"
            documents.append(Document(make_document_id(title, context), title, context))
    return documents


@dataclass(frozen=True)
class AcrossArticlesReport:
    """Every question asked of one corpus of many articles, without saying which one it is about."""

    end_to_end: EndToEndReport
    right_article: float  # share of questions whose answer (or closest sentence) is in their own article
    documents: int
    chunks: int
    index_kind: str
    index_bytes: int
    ingest_sentences_per_second: float | None  # None: a corpus already built was reused
    rss_bytes: int

    def summary(self) -> str:
        ingest = (
            "reused the corpus already built there"
            if self.ingest_sentences_per_second is None
            else f"ingest {self.ingest_sentences_per_second:.0f} sentences/s"
        )
        return "\n".join(
            [
                self.end_to_end.summary(),
                f"answered from the right article: {100 * self.right_article:.1f}% of questions",
                f"corpus: {self.documents:,} documents, {self.chunks:,} chunks, {self.index_kind} index, "
                f"{self.index_bytes / 2**20:.0f} MiB on disk; {ingest}; process RSS {self.rss_bytes / 2**20:.0f} MiB",
            ]
        )


def _rss_bytes() -> int:
    """This process's resident memory now (Linux), 0 where unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def build_corpus(documents: list[Document], index_dir: Path, embedder, workers: int | None = None, ray_address: str | None = None):
    """The archive of exactly ``documents`` in ``index_dir``: reused when one is there already,
    built (or completed, resuming unfinished shards) otherwise. Returns (archive, ingest report or None)."""
    from qa.archive_ingest import ingest
    from qa.store import CorpusError, documents_digest, open_corpus
    from qa.store_build import update_corpus
    from qa.versions import CURRENT_FILE

    wanted = documents_digest(d.id for d in documents)
    try:
        archive = open_corpus(index_dir, embedder)
    except CorpusError as error:  # built by another version: this folder is the evaluation's own
        logger.warning("%s; building it again", error)
        (index_dir / CURRENT_FILE).unlink()
        archive = None
    if archive is not None and archive.manifest["documents_digest"] == wanted:
        return archive, None
    report = ingest(documents, index_dir, workers=workers, ray_address=ray_address, embedder=embedder)
    archive = open_corpus(index_dir, embedder)
    extra = set(archive.ids) - {d.id for d in documents}
    if extra:  # the folder held an archive of other articles too
        archive = update_corpus(index_dir, embedder, removed=extra)
    return archive, report


def evaluate_across_articles(
    articles: list[Article],
    distractors: list[Document],
    assistant,
    index_dir: Path,
    recall_ks: tuple[int, ...] = (1, 3, 5),
    workers: int | None = None,
    ray_address: str | None = None,
    progress: bool = True,
    conversation: bool = False,
) -> AcrossArticlesReport:
    """Ask every question of ``articles`` of one corpus holding all of them and ``distractors``,
    without naming the article, as ``assistant.ask(question)`` over an archive does; with
    ``conversation``, each article's questions in turn with the gold history, as
    ``evaluate_end_to_end`` asks them (the earlier turns name their article, as a chat's do)."""
    placed = [article_document(article) for article in articles]
    archive, built = build_corpus(
        [document for document, _ in placed] + distractors, index_dir, assistant.embedder, workers, ray_address
    )
    assistant.use_archive(index_dir)
    retriever = assistant.library.retriever
    tally = _Tally(recall_ks, retriever.settings.archive_top_k)
    right = 0
    total = sum(len(qs) for a in articles for _, qs in a.paragraphs)
    with tqdm(total=total, desc="asking", unit="q", disable=not progress, mininterval=2) as bar:
        for article, (document, offsets) in zip(articles, placed):
            history: list[Turn] = []
            for offset, question in _asked(article, offsets, conversation):
                began = time.perf_counter()
                reading = assistant.read(question.question, history=history)
                try:
                    answer = assistant.article_answer(question.question, history=history) or assistant.answer(reading)
                except QuestionError:  # asked of the whole archive, the user is asked to name an article
                    answer = replace(assistant.answer(reading), text="", answerable=False, span=None, document_id="")
                seconds = time.perf_counter() - began
                right += answer.document_id == document.id
                query = resolve(question.question, history).query[:MAX_QUESTION_CHARS]
                hits = retriever.search(archive, query, top_k=max(recall_ks)) if question.answerable else []
                tally.add(question, reading, answer, seconds, offset, [(v.document.id == document.id, h) for v, h in hits])
                if conversation:
                    history.append(gold_turn(question, offset, document.id))
                bar.update(1)
    count = len(tally.questions)
    return AcrossArticlesReport(
        end_to_end=tally.report(len(articles)),
        right_article=right / count if count else 0.0,
        documents=len(archive),
        chunks=archive.chunk_count,
        index_kind=archive.manifest["faiss"],
        index_bytes=sum(f["size"] for f in archive.manifest["files"].values()),
        ingest_sentences_per_second=built.sentences_per_second if built and built.sentences else None,
        rss_bytes=_rss_bytes(),
    )
