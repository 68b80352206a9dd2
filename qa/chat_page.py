"""What the chat page does, apart from its layout (``ui.py``), so it reads and tests as plain
Python: the visitor's articles, asking (in two steps: the question at once, then its answer),
switching articles, and bringing an article through the ingestion worker with progress.

Each visitor has their own articles: the seed article is everyone's, an upload or a paste is listed
only in the browser that made it (kept, with the chat, in the browser's storage, so a reload loses
neither). The browser's storage is the visitor's to change, and the page's events can be called
with any value for it: each upload it lists carries the server's signature of its id
(``ChatPage.sign``), and one without is not theirs to ask, to show, or to follow up on. No handler lets an exception reach the page: the user gets a sentence, the log the
traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import gradio as gr

from qa.answer import Answer, Context
from qa.api import ask_json
from qa.config import PASTED_TITLE, WHOLE_ARCHIVE
from qa.conversation import Conversation
from qa.documents import Document
from qa.errors import QAError
from qa.fetch import looks_like_link
from qa.follow_ups import Turn
from qa.ingest import DONE, IngestJob, Ingestor
from qa.pipeline import Assistant
from qa.render import (
    SORRY,
    TYPING_HTML,
    archive_html,
    article_html,
    article_marks,
    failure_note,
    markdown_text,
    marked_article_html,
    marks_from_saved,
    note_html,
    question_html,
    reply_html,
)
from qa.suggest import EXAMPLE_QUESTIONS, suggested_questions

logger = logging.getLogger(__name__)

# Up to this many questions are in flight at once: their retrieval runs side by side and their model
# calls meet in the reader's and the embedder's micro-batches (qa.batching), which read together
# what arrives while a batch runs. One at a time, each waited behind the others' whole pipeline.
MODEL_QUEUE = {"concurrency_id": "models", "concurrency_limit": 8}
# An archive's articles are choices of their own up to this many (each page load carries the list:
# about 60 bytes an article); a larger archive is asked whole, each answer naming its article.
ARCHIVE_ARTICLES_LISTED = 1000
# Uploads and pastes only wait here for the ingestion worker (one job at a time): many can wait
# at once without holding up a question.
INGEST_QUEUE = {"concurrency_id": "ingest", "concurrency_limit": 16}
PROGRESS_EVERY_S = 0.5
# A visitor gone (the tab closed, the session ended) stops their upload's indexing after this long,
# unless a page reloaded meanwhile follows it again (``restore``): the worker is the next visitor's.
ABANDONED_AFTER_S = 4.0
# A pasted link with a scheme other than http(s) (file:///etc/passwd, ftp://, javascript:): refused,
# not made an article of.
OTHER_LINK = re.compile(r"(?i)[a-z][a-z0-9+.-]*:\S*")
OTHER_SCHEMES = ("file:", "ftp:", "data:", "javascript:", "mailto:", "about:", "blob:", "view-source:", "chrome:")
# The key that signs the uploads a visitor's browser lists, kept beside the indexes (owner-only) so
# that a restarted server still knows each visitor's uploads as theirs.
PAGE_KEY_FILE = ".page-key"
PAGE_KEY_BYTES = 32


def page_key(folder: Path) -> bytes:
    """The page's signing key, read from ``folder`` or made there; where the folder can't be
    written, a key for this run only (visitors' uploads are then theirs until it restarts).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> key = page_key(folder)
    >>> len(key), page_key(folder) == key, oct((folder / PAGE_KEY_FILE).stat().st_mode & 0o777)
    (32, True, '0o600')
    """
    path = Path(folder) / PAGE_KEY_FILE
    try:
        key = path.read_bytes()
        if len(key) == PAGE_KEY_BYTES:
            return key
        path.unlink()  # damaged: made afresh (the uploads it signed are listed no more)
    except FileNotFoundError:
        pass
    except OSError:
        logger.warning("the page key in %s can't be read: one for this run only", folder, exc_info=True)
        return secrets.token_bytes(PAGE_KEY_BYTES)
    key = secrets.token_bytes(PAGE_KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another server on this folder made it first: theirs is the key
        return page_key(folder)
    except OSError:
        logger.warning("the page key can't be written in %s: one for this run only", folder, exc_info=True)
        return key
    with os.fdopen(descriptor, "wb") as file:
        file.write(key)
    return key


def saved_turn(turn: Turn) -> dict:
    """A conversation's turn as the browser keeps it (plain JSON), read back by ``turn_from_saved``.

    >>> turn = Turn("Who won?", "Berg", Context("chess", 4, 8))
    >>> saved_turn(turn)
    {'question': 'Who won?', 'answer': 'Berg', 'span': {'document_id': 'chess', 'start': 4, 'end': 8}, 'document_id': 'chess'}
    >>> turn_from_saved(saved_turn(turn)) == turn
    True
    """
    return asdict(turn)


def turn_from_saved(saved: dict) -> Turn:
    """The turn ``saved_turn`` kept (TypeError, KeyError or ValueError when it was tampered with)."""
    span, document_id = saved["span"], saved["document_id"]
    return Turn(
        str(saved["question"]),
        str(saved["answer"]),
        Context(str(span["document_id"]), int(span["start"]), int(span["end"])) if span else None,
        None if document_id is None else str(document_id),
    )


def new_saved() -> dict:
    """What a browser keeps of its visit: its own articles [[id, title], ...], the chat, the
    article being asked (None: the seed), and the conversation's turns (``saved_turn``) that
    follow-up questions are read against, and the article being indexed
    [job id, title], so that a reload meanwhile picks it up again; and what the article panel
    marks of the last answer [article id, ``article_marks``], shown again after a reload."""
    return {"library": [], "chat": [], "selected": None, "turns": [], "job": None, "shown": None}


def visit(saved: object) -> dict:
    """The browser's saved visit with every field present (one saved by an older page lacks some;
    a damaged one is started afresh)."""
    return {**new_saved(), **saved} if isinstance(saved, dict) else new_saved()


def session_of(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "-"


class ChatPage:
    """What the page does, apart from its layout, so it reads (and tests) as plain Python.

    Handlers never raise: a QAError becomes its sentence, anything else a logged apology.
    """

    def __init__(self, assistant: Assistant, default_document: Document, ingestor: Ingestor | None = None) -> None:
        self.assistant = assistant
        self.default_document = default_document
        self.ingestor = ingestor or Ingestor(assistant.store.root, assistant.settings.ingest, assistant.settings.article_index)
        self._jobs: dict[str, IngestJob] = {}  # the running upload of each browser session
        self._examples: dict[str, list[str]] = {}  # suggested questions, per article id
        self._archive_choices: list[tuple[str, str]] | None = None
        self._key = page_key(self.ingestor.index_dir)

    # --- articles: the seed for everyone, the rest per visitor --------------------------------

    def sign(self, document_id: str) -> str:
        """The signature that makes an upload listed in a browser's storage that visitor's."""
        return hmac.new(self._key, document_id.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def _signed(self, articles: list[tuple[str, str]]) -> list[list[str]]:
        """``articles`` [(id, title), ...] as the browser's storage keeps them: [id, title, signature]."""
        return [[id_, title, self.sign(id_)] for id_, title in articles]

    def owned(self, saved: dict | None) -> list[tuple[str, str]]:
        """The visitor's own articles [(id, title), ...]: those their storage lists with this
        server's signature (an id copied from elsewhere, or added by hand, has none)."""
        library = (saved or {}).get("library")
        owned = []
        for entry in library if isinstance(library, list) else []:
            if isinstance(entry, list | tuple) and len(entry) == 3 and all(isinstance(part, str) for part in entry):
                document_id, title, signature = entry
                if hmac.compare_digest(signature.encode("utf-8", "surrogatepass"), self.sign(document_id).encode()):
                    owned.append((document_id, title))
        return owned

    def choices(self, saved: dict | None) -> list[tuple[str, str]]:
        """The dropdown: the whole archive and its articles (when served with one), the seed, and
        the visitor's own articles."""
        archive = self.assistant.archive
        whole = [(f"The whole archive ({len(archive):,} articles)", WHOLE_ARCHIVE)] if archive is not None else []
        return [*whole, *self._archive_articles(), (self.default_document.title, self.default_document.id),
                *((title, id_) for id_, title in self.owned(saved))]

    def _archive_articles(self) -> list[tuple[str, str]]:
        """The archive's articles by title, each a choice of its own, up to ``ARCHIVE_ARTICLES_LISTED``
        (listed once: an archive does not change while it is served)."""
        archive = self.assistant.archive
        if archive is None or len(archive) > ARCHIVE_ARTICLES_LISTED:
            return []
        if self._archive_choices is None:
            titles = [(f"· {archive.document(id_).title}", id_) for id_ in archive.ids]
            self._archive_choices = sorted(titles, key=lambda choice: choice[0].lower())
        return self._archive_choices

    @property
    def default_choice(self) -> str:
        """What a first visit asks: the whole archive when the page serves one, else the seed."""
        return WHOLE_ARCHIVE if self.assistant.archive is not None else self.default_document.id

    def panel(self, document_id: str, answer: Answer | None = None) -> str:
        """The article panel: the article asked (or, for the whole archive, the answer's article)."""
        if document_id == WHOLE_ARCHIVE and (answer is None or not answer.document_id):  # no article, or the archive's summary
            return archive_html(len(self.assistant.archive))
        return article_html(self.assistant.document(answer.document_id if answer else document_id), answer)

    def allowed(self, document_id: str | None, saved: dict | None) -> str:
        """``document_id`` if this visitor may ask it (the seed, the archive and its articles, or one
        of their own), else the first visit's choice."""
        return document_id if document_id in {id_ for _, id_ in self.choices(saved)} else self.default_choice

    def readable(self, saved: dict | None) -> Callable[[object], bool]:
        """Whether this visitor may see an article's text, by its id: one of their choices, or any
        of the archive's articles (a large archive lists none). Their choices are worked out once."""
        ids, archive = {id_ for _, id_ in self.choices(saved)}, self.assistant.archive
        return lambda document_id: isinstance(document_id, str) and (
            document_id in ids or (archive is not None and document_id in archive))

    def examples(self, document: Document) -> list[str]:
        """The seed's curated questions, or questions made from the article: made once per article
        (every page load and article switch shows them; an article may be 2 M characters)."""
        if document.id == self.default_document.id:
            return EXAMPLE_QUESTIONS
        if document.id not in self._examples:
            self._examples[document.id] = suggested_questions(document.text)
        return self._examples[document.id]

    def restore(self, saved: dict | None, request: gr.Request = None) -> Iterator[tuple]:
        """A visit starts (or a reload resumes): the visitor's articles, chat and chosen article;
        then, if an article was being indexed when the page was left, how that went, followed to
        its end as the upload that started it would have."""
        saved = visit(saved)
        try:
            saved = {**saved, "library": self._signed(self.owned(saved))}  # what isn't theirs goes from their storage
            restored = self._restored(saved)
        except Exception:  # a saved visit tampered with: started afresh, the question box opened
            logger.exception("restoring a visit failed")
            saved = new_saved()
            restored = self._restored(saved)
        yield (*restored, "", gr.update(visible=False), saved)
        if not saved["job"]:
            return
        job_id, title = (list(saved["job"]) + ["", ""])[:2]
        job = self.ingestor.job(str(job_id))
        if job is None:  # the server restarted since: that upload is gone
            note = f"⚠️ Indexing {markdown_text(str(title))} was interrupted: please bring it again."
            yield (*[gr.update()] * 5, note, gr.update(visible=False), {**saved, "job": None})
            return
        for choice, status, cancel, followed in self._follow(job, saved, request):
            yield (choice, *[gr.update()] * 4, status, cancel, followed)

    def _restored(self, saved: dict) -> tuple:
        """The article choice, chat, article panel, placeholder and examples of a saved visit."""
        document_id = self.allowed(saved.get("selected"), saved)
        try:
            panel = self._marked_panel(document_id, saved.get("shown"), saved) or self.panel(document_id)
        except Exception as error:  # e.g. its index was removed since: back to the seed article
            if not isinstance(error, QAError):
                logger.exception("restoring a visit failed")
            document_id, panel = self.default_document.id, article_html(self.default_document)
        return (
            gr.update(choices=self.choices(saved), value=document_id),
            saved.get("chat") or [],
            panel,
            *self._question_helpers(document_id),
        )

    def _marked_panel(self, document_id: str, shown: object, saved: dict) -> str | None:
        """The article panel as the last answer left it (its article, its marks), if that answer
        was about ``document_id`` (or one of the whole archive's articles); else None."""
        try:
            shown_id, marks = shown
            marks = marks_from_saved(marks)
        except (TypeError, ValueError):  # none, or tampered with: the plain article
            return None
        if shown_id != document_id and not (document_id == WHOLE_ARCHIVE and self.assistant.archive is not None):
            return None
        if not self.readable(saved)(shown_id):
            return None
        return marked_article_html(self.assistant.document(str(shown_id)), marks)

    def _question_helpers(self, document_id: str):
        """The question box, open for typing, with its placeholder; the suggested questions: the
        seed's for the archive."""
        document = self.default_document if document_id == WHOLE_ARCHIVE else self.assistant.document(document_id)
        examples = self.examples(document)
        return gr.update(placeholder=f"e.g. {examples[0]}", interactive=True), gr.update(samples=[[q] for q in examples])

    # --- questions ----------------------------------------------------------------------------

    @staticmethod
    def show_question(question: str, history: list):
        """Asking, step one, at once and off the queue: the question's bubble (none for an empty
        question) and a typing indicator in the chat; the box is emptied for the next question,
        which the page queues until this one is answered (``QUESTION_QUEUE_SCRIPT``)."""
        shown = [{"role": "user", "content": question_html(question)}] if (question or "").strip() else []
        return [*(history or []), *shown, {"role": "assistant", "content": TYPING_HTML}], "", question

    def respond(self, question: str, history: list, document_id: str, saved: dict | None):
        """Asking, step two: the reply in place of the typing indicator, and the cited sentence
        shown in the article; a question that can't be asked gets a message and goes back to its
        box to be fixed."""
        history = [*(history or [])]
        # The typing indicator step one left (the page may hand the message back in parts).
        if history and 'class="qa-typing"' in str(history[-1].get("content")):
            history.pop()
        saved = visit(saved)
        try:
            turns = [turn_from_saved(turn) for turn in saved["turns"]]
        except (TypeError, KeyError, ValueError):  # a damaged saved conversation is started afresh
            turns = []
        # A turn about an article not theirs (storage changed by hand) would lead the search there.
        readable = self.readable(saved)
        turns = [turn for turn in turns if all(
            id_ is None or readable(id_) for id_ in (turn.document_id, turn.span and turn.span.document_id))]
        document_id = self.allowed(document_id, saved)
        # The visitor's conversation, kept in their browser between questions.
        chat = Conversation(self.assistant, document_id, turns)
        shown = saved.get("shown")
        try:
            answer = chat.ask(question or "")
            article = self.panel(document_id, answer)
        except Exception as error:
            reply, box, article = failure_note(error, f"answering {(question or '')[:200]!r}"), question, gr.update()
        else:
            reply, box = reply_html(answer), ""
            if document_id != WHOLE_ARCHIVE or answer.document_id:  # the panel shows an article
                shown = [answer.document_id or document_id, article_marks(answer)]
        history.append({"role": "assistant", "content": reply})
        turns = [saved_turn(turn) for turn in chat.turns]
        return history, box, article, {**saved, "chat": history, "turns": turns, "shown": shown}

    def switch(self, document_id: str, history: list, saved: dict | None):
        """Show the newly selected article; the chat says which article it now asks. A "change"
        to the article already shown (a visit restored) changes nothing."""
        saved = visit(saved)
        if self.allowed(document_id, saved) == self.allowed(saved.get("selected"), saved):
            return gr.update(), gr.update(), gr.update(), gr.update(), saved
        document_id = self.allowed(document_id, saved)
        try:
            article, helpers = self.panel(document_id), self._question_helpers(document_id)
            title = "the whole archive" if document_id == WHOLE_ARCHIVE else self.assistant.document(document_id).title
        except Exception as error:
            note, article, helpers = failure_note(error, f"switching to {document_id!r}"), gr.update(), (gr.update(), gr.update())
        else:
            note = note_html(f"Now asking about: {title}", "switch")
            saved = {**saved, "selected": document_id, "turns": [], "shown": None}  # a new article, a new conversation
        history = [*(history or []), {"role": "assistant", "content": note}]
        return history, article, *helpers, {**saved, "chat": history}

    def clear(self, saved: dict | None):
        """A new chat: the messages and the conversation go, the visitor's articles stay."""
        saved = visit(saved)
        return [], {**saved, "chat": [], "turns": []}

    # --- bringing an article: indexed by the worker, followed here ----------------------------

    def upload(self, path: str | None, saved: dict | None, request: gr.Request = None) -> Iterator[tuple]:
        if not path:  # the upload was cleared
            yield gr.update(), "", gr.update(visible=False), saved
            return
        try:
            data = Path(path).read_bytes()
        except OSError:
            logger.exception("reading the upload %s failed", path)
            yield gr.update(), f"⚠️ {SORRY}", gr.update(visible=False), saved
            return
        yield from self._follow(self.ingestor.submit_file(data, Path(path).name), saved, request)

    def paste(self, text: str, title: str, saved: dict | None, request: gr.Request = None) -> Iterator[tuple]:
        title = (title or "").strip() or PASTED_TITLE
        pasted = (text or "").strip()
        if OTHER_LINK.fullmatch(pasted) and ("://" in pasted or pasted.lower().startswith(OTHER_SCHEMES)) \
                and not looks_like_link(pasted):
            shown = markdown_text(pasted[:200])
            yield (gr.update(), f"⚠️ Only http and https links can be read; {shown} is not one — the current article "
                   "stays loaded.", gr.update(visible=False), visit(saved))
            return
        if looks_like_link(text or ""):  # a link pasted: its article, fetched by the worker
            yield from self._follow(self.ingestor.submit_link(text.strip()), saved, request)
            return
        yield from self._follow(self.ingestor.submit_text(text or "", title), saved, request)

    def cancel(self, request: gr.Request = None) -> str:
        job = self._jobs.get(session_of(request))
        if job is None or job.finished:
            return "Nothing is being indexed."
        job.cancel()
        return f"Stopping: {markdown_text(job.title)}…"

    def leave(self, request: gr.Request = None) -> None:
        """The visitor's session ended (``app.unload``: the tab closed, or reloaded): their upload
        stops, unless the reloaded page follows it again within ``ABANDONED_AFTER_S``."""
        job = self._jobs.pop(session_of(request), None)
        if job is not None:
            self._stop_if_abandoned(job)

    def _stop_if_abandoned(self, job: IngestJob) -> None:
        if job.finished:
            return

        def stop() -> None:
            if not job.finished and job not in self._jobs.values():
                logger.info("stopping %r: its visitor left", job.name)
                job.cancel()

        timer = threading.Timer(ABANDONED_AFTER_S, stop)
        timer.daemon = True
        timer.start()

    def _follow(self, job: IngestJob, saved: dict | None, request: gr.Request | None) -> Iterator[tuple]:
        """(article choice, status, cancel button, saved) while the job runs, then its outcome. A
        follower that stops early (its event cancelled: the page is gone) stops the job too, unless
        another page follows it (``_stop_if_abandoned``)."""
        saved = {**visit(saved), "job": [job.id, job.title]}
        session = session_of(request)
        self._jobs[session] = job
        try:
            # At once: the previous upload's outcome goes from the status line.
            job.wait(0.05)
            yield gr.update(), markdown_text(job.describe()), gr.update(visible=not job.finished), saved
            while not job.wait(PROGRESS_EVERY_S):
                yield gr.update(), markdown_text(job.describe()), gr.update(visible=True), saved
            saved = {**saved, "job": None}  # its outcome is told now
            if job.state != DONE:
                reason = job.message or job.describe()
                yield gr.update(), f"⚠️ {markdown_text(reason)} — the current article stays loaded.", gr.update(visible=False), saved
                return
            document = self.assistant.add_index(job.result)
            library = [(id_, title) for id_, title in self.owned(saved) if id_ != document.id]
            saved = {**saved, "library": self._signed([*library, (document.id, document.title)])}
            self._evict()
            status = f"Loaded **{markdown_text(document.title)}**: ask away."
            if not job.result.persisted:
                status += " (Kept in memory only: the index folder can't be written, so it goes when the server restarts.)"
            yield gr.update(choices=self.choices(saved), value=document.id), status, gr.update(visible=False), saved
        except Exception:
            logger.exception("bringing in %r failed", job.name)
            job.cancel()
            yield gr.update(), f"⚠️ {SORRY}", gr.update(visible=False), saved
        finally:
            if self._jobs.get(session) is job:
                del self._jobs[session]
            self._stop_if_abandoned(job)

    def _evict(self) -> None:
        """Keep the index folder under its quota; the articles in memory keep their indexes."""
        try:
            self.assistant.store.evict(keep={document.id for document in self.assistant.documents})
        except OSError:
            logger.exception("evicting old indexes failed")

    # --- the JSON API -------------------------------------------------------------------------

    def api_ask(
        self, question: str, document_id: str = "", history: list | None = None, request: gr.Request = None
    ) -> dict:
        """/ask: ``qa.api.ask_json`` about ``document_id`` (empty: the default article; "*": the
        whole archive the server was started with). Over HTTP it asks what its caller may ask, as
        /v1 does (``qa.rest.Service``, which ``ui.launch`` gives the page): the default article,
        the archive, and the uploads /v1 took from the same caller: with API keys, the key it names
        (``Authorization: Bearer KEY``; none: refused), without, this machine. A visitor's upload on the page is theirs alone: no API call asks it,
        whoever learns its id. Called in-process (no ``request``), any article."""
        if request is None:
            return ask_json(self.assistant, question, document_id or self.default_document.id, history)
        from qa.rest import Problem, Service  # the API's rule of who may ask what, imported with the API

        # A page served otherwise than by ui.launch has none: one with no uploads of its own.
        service = getattr(self, "service", None) or Service(self.assistant, None, self.default_document.id)
        try:
            owner = service.page_api_owner(request.headers, request.client.host if request.client else "")
        except Problem as refused:
            return {"error": refused.message}
        may_ask = lambda article_id: service.may_ask(owner, article_id)  # noqa: E731
        return ask_json(self.assistant, question, document_id or service.default_article, history, may_ask)


