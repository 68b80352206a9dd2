"""Ingestion off the question path: uploads and pastes are read, converted and indexed in a worker
process, so a question about an article already loaded never waits behind someone's upload.

The worker is a separate process with one model thread at the lowest CPU priority: it shares
neither the GIL nor the models with the questions, and yields the CPU to them. Jobs run one at a time, in order; each reports its
progress and can be cancelled, which stops the worker, removes the half-built index and starts a
fresh worker for the next job. A job also stops at its time limit, and a worker that dies (out of
memory, say) fails its job with a sentence, not a hang. The worker exits when idle, and starts
again (a few seconds) with the next job.

For example::

    ingestor = Ingestor(index_dir)
    job = ingestor.submit_text("Austin arrived on Sunday.", "Visit")
    job.wait(60) and job.state
    # -> 'done'
    assistant.add_index(job.result)

"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from pathlib import Path

from qa.articles import ArticleStore
from qa.config import ARTICLE_SETTINGS, CorpusSettings, IngestSettings
from qa.store import DocumentIndex
from qa.versions import remove_incomplete

logger = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
_POLL_SECONDS = 0.2
JOBS_KEPT = 1_000  # jobs findable by id (``Ingestor.job``), oldest forgotten first


class IngestJob:
    """One upload or paste on its way to an index. ``state`` goes queued → running → done, failed
    or cancelled; ``message`` says why a job failed, in a sentence for the user. ``owner``: who
    submitted it (the REST API's caller; "" for the page), whom ``job`` lookups by id answer."""

    def __init__(self, kind: str, payload: tuple, name: str, owner: str = "") -> None:
        self.id = uuid.uuid4().hex
        self.kind, self.payload, self.name, self.owner = kind, payload, name, owner
        self.state = QUEUED
        self.title = name
        self.document_id: str | None = None
        self.done = self.total = 0
        self.message = ""
        self.result: DocumentIndex | None = None  # with its BM25, ready for ``Assistant.add_index``
        self._finished = threading.Event()
        self._cancel_requested = threading.Event()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the job has finished, whichever way."""
        return self._finished.wait(timeout)

    def cancel(self) -> None:
        """Stop the job: a queued one never starts; a running one stops within a fraction of a second."""
        self._cancel_requested.set()

    def describe(self) -> str:
        """Where the job is, in a sentence for the page's status line."""
        if self.state == QUEUED:
            return f"Waiting to index {self.title}: another article is being indexed."
        if self.state == RUNNING:
            if self.total:
                return f"Indexing {self.title}: {self.done:,} of {self.total:,} passages…"
            return f"Reading {self.title}…"
        if self.state == DONE:
            return f"Indexed {self.title}."
        if self.state == CANCELLED:
            return f"Stopped indexing {self.title}."
        return self.message

    def _finish(self, state: str, message: str = "", result: DocumentIndex | None = None) -> None:
        self.state, self.message, self.result = state, message, result
        self.payload = ()  # the upload's bytes are no longer needed
        self._finished.set()


class Ingestor:
    """Runs ingestion jobs in a worker process, one at a time, in the order they were submitted."""

    def __init__(
        self,
        index_dir: str | Path,
        settings: IngestSettings = IngestSettings(),
        index_settings: CorpusSettings = ARTICLE_SETTINGS,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.settings = settings
        self.index_settings = index_settings
        self._pending: queue.Queue[IngestJob | None] = queue.Queue()
        self._context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._process = None
        self._requests = self._events = None
        self._running: IngestJob | None = None
        self._recent: OrderedDict[str, IngestJob] = OrderedDict()  # by id, for ``job``
        self._recent_lock = threading.Lock()
        self._dispatcher = threading.Thread(target=self._dispatch, name="ingest-dispatcher", daemon=True)
        self._dispatcher.start()

    def submit_file(self, data: bytes, name: str, owner: str = "") -> IngestJob:
        return self._submit(IngestJob("file", (data, name), name, owner))

    def submit_text(self, text: str, title: str, owner: str = "") -> IngestJob:
        return self._submit(IngestJob("text", (text, title), title, owner))

    def submit_link(self, link: str, owner: str = "") -> IngestJob:
        """The article at ``link``, fetched by the worker (``qa.fetch``: public addresses only)."""
        return self._submit(IngestJob("link", (link,), link, owner))

    def _submit(self, job: IngestJob) -> IngestJob:
        with self._recent_lock:
            self._recent[job.id] = job
            while len(self._recent) > JOBS_KEPT:
                self._recent.popitem(last=False)
        self._pending.put(job)
        return job

    def job(self, job_id: str) -> IngestJob | None:
        """A job submitted here, by its id (the last ``JOBS_KEPT``): a page reloaded meanwhile, or an
        API caller, follows it by id."""
        with self._recent_lock:
            return self._recent.get(job_id)

    def close(self) -> None:
        """Stop the worker: the running job is stopped and its half-built index removed, jobs still
        queued are cancelled."""
        self._pending.put(None)
        if (running := self._running) is not None:
            running.cancel()
        self._dispatcher.join(timeout=10)
        self._stop_worker()

    # The dispatcher thread: hands jobs to the worker and follows them to their end.

    def _dispatch(self) -> None:
        while True:
            try:
                job = self._pending.get(timeout=self.settings.idle_shutdown_s)
            except queue.Empty:
                self._stop_worker()  # idle: give its memory back
                continue
            if job is None:
                while not self._pending.empty():
                    if (left := self._pending.get()) is not None:
                        left._finish(CANCELLED)
                return
            try:
                self._running = job
                self._run(job)
            except Exception:
                logger.exception("ingestion of %r failed", job.name)
                self._stop_worker()
                job._finish(FAILED, f"Sorry, {job.title} could not be indexed (the details are in the server log).")
            finally:
                self._running = None

    def _run(self, job: IngestJob) -> None:
        if job._cancel_requested.is_set():
            job._finish(CANCELLED)
            return
        self._start_worker()
        job.state = RUNNING
        self._requests.put((job.id, job.kind, job.payload))
        deadline = time.monotonic() + self.settings.time_limit_s
        while True:
            try:
                event = self._events.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if job._cancel_requested.is_set():
                    self._abandon(job, CANCELLED, "")
                    return
                if time.monotonic() > deadline:
                    minutes = self.settings.time_limit_s / 60
                    self._abandon(job, FAILED, f"Indexing {job.title} took longer than {minutes:.0f} minutes: stopped.")
                    return
                if not self._process.is_alive():
                    logger.error("the ingestion worker died (exit code %s) on %r", self._process.exitcode, job.name)
                    self._abandon(job, FAILED, f"Indexing {job.title} stopped unexpectedly: is it too large?")
                    return
                continue
            kind, payload = event[0], event[2:]
            if kind == "started":
                job.document_id, job.title = payload
            elif kind == "progress":
                job.done, job.total = payload
            elif kind == "done":
                job._finish(DONE, result=_rebuilt(*payload))
                return
            elif kind == "refused":  # a QAError: the user's input, in a sentence
                job._finish(FAILED, payload[0])
                return
            else:  # "crashed": an unexpected error; the worker sent its traceback for the log
                logger.error("ingestion of %r failed in the worker:\n%s", job.name, payload[0])
                job._finish(FAILED, f"Sorry, {job.title} could not be indexed (the details are in the server log).")
                return

    def _abandon(self, job: IngestJob, state: str, message: str) -> None:
        """Stop the worker mid-job and remove what its build left half-written."""
        self._stop_worker()
        if job.document_id:
            remove_incomplete(self.index_dir, job.document_id)
        job._finish(state, message)

    def _start_worker(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        # Fresh queues: a worker killed while writing may leave one unusable.
        self._requests, self._events = self._context.Queue(), self._context.Queue()
        self._process = self._context.Process(
            target=_worker_main,
            args=(self._requests, self._events, str(self.index_dir), self.index_settings, self.settings.threads),
            name="qa-ingest",
            daemon=True,
        )
        self._process.start()

    def _stop_worker(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.is_alive():
            process.kill()
        process.join(timeout=10)
        # A request the worker never read would keep the queue's feeder thread writing to a pipe
        # nobody reads, and the interpreter waiting for that thread at exit.
        for channel in (self._requests, self._events):
            channel.cancel_join_thread()
            channel.close()


def _portable(index: DocumentIndex) -> tuple:
    """An index as plain picklable parts (a FAISS index is not picklable; its serialised bytes are),
    its BM25 built here, off the question path."""
    import faiss

    index.build_bm25()
    return (index.document, index.sentences, index.chunks, faiss.serialize_index(index.faiss_index), index.manifest,
            index.persisted, index.bm25, index.centrality)


def _rebuilt(parts: tuple) -> DocumentIndex:
    import faiss

    document, sentences, chunks, faiss_bytes, manifest, persisted, bm25, centrality = parts
    return DocumentIndex(document, sentences, chunks, faiss.deserialize_index(faiss_bytes), manifest, persisted, bm25, centrality)


def _die_with_parent() -> None:
    """Have Linux kill this worker when the server that started it dies, even by SIGKILL: else it
    would finish its article for no one. What it left half-built goes at the server's next start."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before the line above
            os._exit(0)


def _worker_main(requests, events, index_dir: str, index_settings: CorpusSettings, threads: int) -> None:
    """The worker process: convert, chunk, embed and index each job it is sent, reporting as it goes."""
    from qa.backends import limit_threads
    from qa.documents import document_from_bytes, document_from_text
    from qa.embedding import Embedder
    from qa.errors import QAError
    from qa.fetch import fetch_article

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _die_with_parent()
    # The lowest CPU priority: a question arriving meanwhile gets the cores it needs at once
    # (bench/ingest_contention.py: question p50 2.3x its quiet value at the default priority).
    os.nice(19)
    limit_threads(threads)
    store = ArticleStore(Path(index_dir), Embedder(), index_settings)
    while (request := requests.get()) is not None:
        job_id, kind, payload = request
        try:
            if kind == "link":
                document = fetch_article(*payload)
            else:
                document = document_from_bytes(*payload) if kind == "file" else document_from_text(*payload)
            events.put(("started", job_id, document.id, document.title))
            index = store.load_or_build(document, progress=lambda done, total, job_id=job_id: events.put(("progress", job_id, done, total)))
            events.put(("done", job_id, _portable(index)))
        except QAError as error:
            events.put(("refused", job_id, str(error)))
        except Exception:
            events.put(("crashed", job_id, traceback.format_exc()))
