"""The REST API, beside the chat page on the same server (``qa serve``), its schema at ``/v1/docs``:

    curl -s localhost:7860/v1/ask -H 'Content-Type: application/json' \\
         -d '{"question": "When did he arrive?", "history": [{"question": "Who is the US Secretary of Defence?", "answer": "Lloyd J Austin III"}]}'

- ``POST /v1/ask``: a question, of an article (its ``article_id``; none: the seed article; ``"*"``:
  the whole archive), after the conversation's earlier turns → the answer;
- ``POST /v1/articles`` (a file, text or a link) → an indexing job; ``GET /v1/jobs/{id}``;
  ``GET /v1/articles``; ``DELETE /v1/articles/{id}``;
- ``GET /healthz`` (the process answers) and ``GET /readyz`` (the models are loaded).

Text that can't be encoded (a lone surrogate, ``"\\ud800"`` in JSON) is repaired at the door
(``qa.text.repaired``: U+FFFD in its place) and in every response, so it is answered, or refused
with a sentence, like any other text. The documentation pages' scripts are served from an
installed package (``fastapi_offline``), not a CDN: ``/v1/docs`` and ``/v1/redoc`` work offline.

Questions are answered in the server's worker threads, not through the page's queue. At most
``in_flight`` are answered at once and ``waiting`` more wait, each at most ``wait_s``
(``qa.config.AdmissionSettings``); beyond that a request is told at once (503 with ``Retry-After``)
rather than left to wait. Every bad request gets a 4xx whose
JSON says what to change.

With API keys (``qa serve --api-key``, or ``QA_API_KEYS``: comma-separated) every request names one
(``Authorization: Bearer KEY``), and the articles uploaded with a key are that key's alone. Without
keys the API answers this machine only, as the page binds it by default.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import threading
from collections.abc import Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Mount

from qa.answer import Answer, Context
from qa.config import PASTED_TITLE, WHOLE_ARCHIVE, AdmissionSettings
from qa.documents import MAX_FILE_BYTES, SUPPORTED_SUFFIXES
from qa.errors import QAError
from qa.fetch import MAX_LINK_CHARS, check_link
from qa.follow_ups import Turn
from qa.ingest import DONE, IngestJob, Ingestor
from qa.pipeline import MAX_QUESTION_CHARS, Assistant
from qa.text import repaired

logger = logging.getLogger(__name__)

MAX_HISTORY_TURNS = 50
MAX_ANSWER_CHARS = 10_000
MAX_FORM_TEXT_CHARS = 1_000_000  # finished jobs stay readable, oldest forgotten first
# The owner of a call to the page's /ask from another machine on a server without keys: the page
# answers whoever reaches it, so /ask does too, but only of what every visitor may ask.
ANYONE = "anyone"


def _repaired(value: object) -> object:
    r"""A request's string with what can't be encoded replaced (anything else as it is, for the
    schema to judge): pydantic refuses a lone surrogate outright, and its refusal, echoing the
    input, could not be encoded either.

    >>> _repaired("Who \ud800?") == "Who \ufffd?", _repaired(5)
    (True, 5)
    """
    return repaired(value) if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_repaired)]


class RepairedJSONResponse(JSONResponse):
    r"""JSON that can always be sent: a string that can't be encoded, wherever it is (an echoed
    input, a key a request made up), is repaired rather than failing the whole response, which
    left a 500 and a reset connection.

    >>> RepairedJSONResponse({"error": "k\udc00"}).body == '{"error":"k\ufffd"}'.encode()
    True
    """

    def render(self, content: object) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
        return repaired(text).encode("utf-8")


class Problem(Exception):
    """A request the API refuses: its status and the sentence that says what to change."""

    def __init__(self, status: int, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class RequestBody(BaseModel):
    """A request's JSON object, its keys repaired as its strings are (``Text``): a key that can't be
    encoded is then refused by name, as any unknown key is."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _repaired_keys(cls, value: object) -> object:
        return {_repaired(key): item for key, item in value.items()} if isinstance(value, dict) else value


class HistoryTurn(RequestBody):
    question: Text = Field(max_length=MAX_QUESTION_CHARS)
    answer: Text = Field(max_length=MAX_ANSWER_CHARS)
    article_id: Text | None = Field(None, description="the article this answer came from, when the question asked an archive")


class AskRequest(RequestBody):
    question: Text = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    article_id: Text | None = Field(None, description='an article id, "*" for the whole archive; none: the seed article')
    history: list[HistoryTurn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS, description="earlier turns, oldest first")


class Alternative(BaseModel):
    answer: str
    score: float
    sentence: str
    start: int
    end: int
    article_id: str


class Citation(BaseModel):
    text: str
    start: int
    end: int
    article_id: str


class PassageRead(BaseModel):
    text: str
    start: int
    end: int
    article_id: str
    best: str = Field(description="the best span the reader found in it")
    score: float


class AnswerOut(BaseModel):
    """``answer`` is ``article text[start:end]`` inside ``sentence``; "" when the article doesn't say."""

    question: str
    answer: str
    answerable: bool
    score: float
    sentence: str
    start: int | None
    end: int | None
    article_id: str
    article_title: str
    source: str
    understood_as: str | None
    kind: str
    verdict: str | None = Field(description='a yes/no question or a claim (kind "verdict"): "yes", "no" or "not stated"')
    alternatives: list[Alternative]
    citations: list[Citation]
    read: list[PassageRead] = Field(description="the passages read, in order: why the answer is what it is")


class Job(BaseModel):
    id: str
    state: str = Field(description="queued, running, done, failed or cancelled")
    message: str
    article_id: str | None


class Article(BaseModel):
    id: str
    title: str
    byline: str


class Error(BaseModel):
    error: str


def api_keys_from_environment() -> set[str]:
    """``QA_API_KEYS``: comma-separated keys for the REST API."""
    return {key.strip() for key in os.environ.get("QA_API_KEYS", "").split(",") if key.strip()}


def answer_out(answer: Answer) -> AnswerOut:
    return AnswerOut(
        question=answer.question, answer=answer.text, answerable=answer.answerable, score=answer.score,
        sentence=answer.sentence, start=answer.span.start if answer.span else None, end=answer.span.end if answer.span else None,
        article_id=answer.document_id,
        article_title=answer.document_title, source=answer.source if answer.answerable else "",
        understood_as=answer.understood_as, kind=answer.kind, verdict=answer.verdict,
        alternatives=[
            Alternative(answer=a.text, score=a.score, sentence=a.sentence, **_place(a.span)) for a in answer.alternatives
        ],
        citations=[Citation(text=c.text, **_place(c.span)) for c in answer.citations],
        read=[PassageRead(text=p.text, **_place(p.span), best=p.best, score=p.score) for p in answer.read],
    )


def _place(span: Context) -> dict:
    """Where a piece of an answer is, as the API's fields say it."""
    return {"start": span.start, "end": span.end, "article_id": span.document_id}


class Admission:
    """At most ``in_flight`` at once and ``waiting`` more, each waiting ``wait_s`` at most. It runs
    in the event loop, before a request takes one of the server's worker threads: a crowd waiting
    for threads would wait unseen, and be told nothing."""

    def __init__(self, settings: AdmissionSettings = AdmissionSettings()) -> None:
        self.settings = settings
        self._slots: anyio.Semaphore | None = None  # made in the event loop that uses it
        self._waiting = 0

    @asynccontextmanager
    async def slot(self):
        if self._slots is None:
            self._slots = anyio.Semaphore(self.settings.in_flight)
        busy = Problem(503, "the server is busy: try again in a second", {"Retry-After": str(self.settings.retry_after_s)})
        try:
            self._slots.acquire_nowait()
        except anyio.WouldBlock:
            if self._waiting >= self.settings.waiting:
                raise busy from None
            self._waiting += 1
            try:
                with anyio.move_on_after(self.settings.wait_s) as waited:
                    await self._slots.acquire()
            finally:
                self._waiting -= 1
            if waited.cancelled_caught:
                raise busy from None
        try:
            yield
        finally:
            self._slots.release()


class Service:
    """What the routes do: who asks (``owner``), which articles they may ask, their jobs."""

    def __init__(
        self, assistant: Assistant, ingestor: Ingestor | None, default_article: str, api_keys: set[str] = frozenset()
    ) -> None:
        """``ingestor`` None: a server that takes no uploads (a Ray Serve replica, ``qa.ray_serve``)."""
        self.assistant, self.ingestor, self.default_article = assistant, ingestor, default_article
        self.api_keys = set(api_keys)
        self.admission = Admission(assistant.settings.admission)
        self._owned: dict[str, dict[str, str]] = {}  # owner → {article id: title}
        self._lock = threading.Lock()

    def owner(self, request: Request) -> str:
        """Who is asking: their API key's digest, or "local" on a server without keys (this machine only)."""
        return self.owner_of(request.headers, request.client.host if request.client else "")

    def page_api_owner(self, headers: Mapping[str, str], host: str) -> str:
        """Who calls the page's ``/ask`` (``qa.chat_page.ChatPage.api_ask``): as for /v1, with keys
        configured a key names the owner and a call without one is refused (Problem 401); without
        keys, a call from another machine is ``ANYONE``, since the page answers it anyway.

        >>> service = Service.__new__(Service); service.api_keys = {"k"}
        >>> service.page_api_owner({"authorization": "Bearer k"}, "203.0.113.7") == service.owner_of({"x-api-key": "k"}, "")
        True
        >>> service.api_keys = set(); service.page_api_owner({}, "203.0.113.7"), service.page_api_owner({}, "127.0.0.1")
        ('anyone', 'local')
        """
        try:
            return self.owner_of(headers, host)
        except Problem as refused:
            if refused.status == 403:
                return ANYONE
            raise

    def owner_of(self, headers: Mapping[str, str], host: str) -> str:
        """The owner that a request's ``headers`` and client ``host`` name (Problem 401 or 403 if none)."""
        if self.api_keys:
            header = headers.get("authorization", "")
            key = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else headers.get("x-api-key", "")
            if not any(hmac.compare_digest(key.encode(), known.encode()) for known in self.api_keys):
                raise Problem(401, "name an API key: Authorization: Bearer KEY")
            return hashlib.sha256(key.encode()).hexdigest()[:16]
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost"
        if not local:
            raise Problem(403, "this server has no API keys: it answers its own machine only (qa serve --api-key)")
        return "local"

    def may_ask(self, owner: str, article_id: str) -> bool:
        """True if ``owner`` may ask ``article_id``: the default article, the archive and its
        articles are everyone's; an upload is its owner's alone. A page visitor's upload is no
        one's here (the page keeps it for the browser that brought it): no API call reaches it."""
        archive = self.assistant.archive
        return (
            article_id == self.default_article
            or article_id in self._owned.get(owner, {})
            or (archive is not None and (article_id == WHOLE_ARCHIVE or article_id in archive))
        )

    def ask(self, owner: str, body: AskRequest) -> AnswerOut:
        article_id = body.article_id or self.default_article
        if article_id == WHOLE_ARCHIVE and self.assistant.archive is None:
            raise Problem(404, 'this server has no archive: leave out article_id, or name an article')
        if not self.may_ask(owner, article_id):
            raise Problem(404, f"no article {article_id[:100]!r} here: GET /v1/articles lists yours")
        for turn in body.history:
            if turn.article_id is not None and not self.may_ask(owner, turn.article_id):
                raise Problem(400, f"a history turn names an article you can't ask: {turn.article_id[:100]!r}")
        history = [Turn(turn.question, turn.answer, document_id=turn.article_id) for turn in body.history]
        try:
            return answer_out(self.assistant.ask(body.question, document_id=article_id, history=history))
        except QAError as error:
            raise Problem(400, str(error)) from None

    def submit(self, owner: str, file: UploadFile | None, text: str | None, title: str | None, url: str | None) -> Job:
        if self.ingestor is None:
            raise Problem(405, "this server takes no uploads (on Ray Serve): build an archive with qa index --archive and serve that")
        given = [name for name, value in (("file", file), ("text", text), ("url", url)) if value]
        if len(given) != 1:
            raise Problem(400, "give one of: file, text or url")
        text, title, url = (None if value is None else repaired(value) for value in (text, title, url))
        if file is not None:
            name = repaired(Path(file.filename or "article.txt").name)
            if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                raise Problem(415, f"{name}: unsupported file type; use one of {', '.join(SUPPORTED_SUFFIXES)}")
            data = file.file.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise Problem(413, f"{name} is over the limit of {MAX_FILE_BYTES:,} bytes")
            job = self.ingestor.submit_file(data, name, owner)
        elif text is not None:
            job = self.ingestor.submit_text(text, (title or "").strip() or PASTED_TITLE, owner)
        else:
            try:  # refused here, with its reason, rather than a job that fails later
                url = check_link(url)
            except QAError as error:
                raise Problem(400, str(error)) from None
            job = self.ingestor.submit_link(url, owner)
        threading.Thread(target=self._finish, args=(job,), name=f"api-job-{job.id[:8]}", daemon=True).start()
        return self.job_out(job)

    def _finish(self, job: IngestJob) -> None:
        """Once a job is done, its article is askable, and its uploader's."""
        job.wait()
        if job.state == DONE and job.result is not None:
            document = self.assistant.add_index(job.result)
            with self._lock:
                self._owned.setdefault(job.owner, {})[document.id] = document.title

    def job(self, owner: str, job_id: str) -> Job:
        job = self.ingestor.job(job_id) if self.ingestor is not None else None
        if job is None or job.owner != owner:
            raise Problem(404, f"no job {job_id[:100]!r} of yours")
        return self.job_out(job)

    def job_out(self, job: IngestJob) -> Job:
        # "done" once the article is askable, not just indexed.
        state = job.state if job.state != DONE or self._askable(job) else "running"
        return Job(id=job.id, state=state, message=job.describe(), article_id=job.document_id if state == DONE else None)

    def _askable(self, job: IngestJob) -> bool:
        return job.result is not None and any(job.result.document.id in owned for owned in self._owned.values())

    def articles(self, owner: str) -> list[Article]:
        ids = [self.default_article, *self._owned.get(owner, {})]
        return [Article(id=d.id, title=d.title, byline=d.byline) for d in (self.assistant.document(i) for i in ids)]

    def delete(self, owner: str, article_id: str) -> None:
        with self._lock:
            if article_id not in self._owned.get(owner, {}):
                raise Problem(404, f"no article {article_id[:100]!r} of yours")
            del self._owned[owner][article_id]
            shared = any(article_id in owned for owned in self._owned.values())
        if not shared:
            self.assistant.library.forget(article_id)


def create_app(service: Service) -> FastAPI:
    """The /v1 application (mounted at /v1 by ``qa serve``; its schema at /v1/docs)."""
    # The documentation pages' scripts and styles come from the installed fastapi_offline package
    # (at /v1/static-offline-docs), not a CDN: FastAPI's own pages were blank offline.
    app = FastAPIOffline(
        title="article-qa", version="1", summary="Questions answered from news articles, as exact spans.",
        default_response_class=RepairedJSONResponse,
    )

    @app.exception_handler(Problem)
    def problem(_: Request, error: Problem) -> JSONResponse:
        return RepairedJSONResponse({"error": error.message}, status_code=error.status, headers=error.headers)

    @app.exception_handler(StarletteHTTPException)
    def http_problem(_: Request, error: StarletteHTTPException) -> JSONResponse:
        if "exceeded maximum size" in str(error.detail):  # the multipart parser's limit on a form field
            return RepairedJSONResponse({"error": "a form field takes 1 MB at most: send a longer text as a .txt file"}, status_code=413)
        return RepairedJSONResponse({"error": str(error.detail)}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(_problem(e) for e in error.errors()[:5])
        return RepairedJSONResponse({"error": problems, "detail": jsonable_encoder(error.errors())}, status_code=422)

    @app.exception_handler(Exception)
    def unexpected(_: Request, error: Exception) -> JSONResponse:
        logger.error("an API request failed", exc_info=error)
        return RepairedJSONResponse({"error": "internal error: it has been logged"}, status_code=500)

    owner_of = Depends(service.owner)  # a default, not an annotation: the annotations here are strings
    errors = {status: {"model": Error} for status in (400, 401, 403, 404, 405, 413, 415, 503)}

    @app.post("/ask", response_model=AnswerOut, responses=errors)
    async def ask(body: AskRequest, owner: str = owner_of) -> AnswerOut:
        async with service.admission.slot():  # in the event loop, then a worker thread answers
            return await run_in_threadpool(service.ask, owner, body)

    @app.post("/articles", response_model=Job, status_code=202, responses=errors)
    def add_article(
        owner: str = owner_of,
        file: Annotated[UploadFile | None, File(description="a .txt, .md, .html, .pdf or .docx file")] = None,
        # A form field is 1 MB at most (the multipart parser's limit): a longer text goes as a .txt file.
        text: Annotated[str | None, Form(max_length=MAX_FORM_TEXT_CHARS)] = None,
        title: Annotated[str | None, Form(max_length=300)] = None,
        url: Annotated[str | None, Form(max_length=MAX_LINK_CHARS)] = None,
    ) -> Job:
        return service.submit(owner, file, text, title, url)

    @app.get("/jobs/{job_id}", response_model=Job, responses=errors)
    def job(job_id: str, owner: str = owner_of) -> Job:
        return service.job(owner, job_id)

    @app.get("/articles", response_model=list[Article], responses=errors)
    def articles(owner: str = owner_of) -> list[Article]:
        return service.articles(owner)

    @app.delete("/articles/{article_id}", status_code=204, responses=errors)
    def delete(article_id: str, owner: str = owner_of) -> None:
        service.delete(owner, article_id)

    return app


def _problem(error: dict) -> str:
    """One of a request's validation errors, as a sentence that says what to change.

    >>> _problem({"loc": ("body", "file"), "msg": "Value error, Expected UploadFile, received: <class 'str'>"})
    'file: send a file, with its name (curl -F file=@story.txt), or the article as text'
    >>> _problem({"loc": ("body", "question"), "msg": "Field required"})
    'question: Field required'
    """
    where = ".".join(str(part) for part in error["loc"][1:]) or "body"
    if where == "file" and "Expected UploadFile" in error["msg"]:  # a file part sent without a file name
        return "file: send a file, with its name (curl -F file=@story.txt), or the article as text"
    return f"{where}: {error['msg']}"


def add_to(app: FastAPI, service: Service) -> None:
    """Serve the REST API at /v1, and /healthz and /readyz, from ``app`` (the page's server, or a
    Ray Serve replica's), ahead of its own routes so that none of them answers these paths."""
    app.router.routes[0:0] = [Mount("/v1", app=create_app(service)), *health_app(service.assistant).router.routes]


def health_app(assistant: Assistant) -> FastAPI:
    """``/healthz``: the process answers; ``/readyz``: its models and seed article are loaded."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        ready = bool(assistant.documents)
        return JSONResponse({"status": "ready" if ready else "loading"}, status_code=200 if ready else 503)

    return app

