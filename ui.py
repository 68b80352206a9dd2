"""The chat page: ask an article, see the answer highlighted in its sentence and in the article.

    python ui.py            # or: qa serve [--host 127.0.0.1] [--port 7860]

Every piece of user or article text is escaped (``html.escape``) before it becomes HTML, so an
article holding ``<script>`` shows that text and runs nothing. Programs can call the named API
endpoint ``/ask`` with ``gradio_client``::

    Client("http://127.0.0.1:7860").predict("What does INDUS-X aim at?", "", api_name="/ask")

A server started with API keys (``qa serve --api-key KEY``) wants one with every call:
``Client(url, headers={"Authorization": "Bearer KEY"})``.

What the page does is ``qa.chat_page.ChatPage``; this module lays it out and serves it. Articles are
indexed by a worker process (``qa.ingest``), never on the question path, with progress in the
status line and a Cancel button.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
from pathlib import Path

from qa.gradio_startup import skipping_stub_writing

with skipping_stub_writing():  # 3 s less of start-up (qa/gradio_startup.py)
    import gradio as gr

from qa.api import with_defaults
from qa.chat_page import INGEST_QUEUE, MODEL_QUEUE, ChatPage, new_saved
from qa.config import PASTED_TITLE, WHOLE_ARCHIVE, ServerSettings
from qa.documents import MAX_DOCUMENT_CHARS, SUPPORTED_SUFFIXES
from qa.ingest import Ingestor
from qa.library import seed_document
from qa.page_scripts import AFTER_ANSWER, CSS, PLAIN_TEXT_SCRIPT, QUESTION_QUEUE_SCRIPT, STALE_STATUS_SCRIPT
from qa.pipeline import MAX_QUESTION_CHARS, Assistant, ready_default_assistant
from qa.render import (
    BRING_YOUR_OWN,
    UPLOAD_LIMIT_BYTES,
    WELCOME,
    article_html,
    markdown_text,
    question_html,
    reply_html,
)
from qa.rest import Service, add_to, api_keys_from_environment
from qa.suggest import EXAMPLE_QUESTIONS

# What tests and callers reach through ``ui``: the page's logic and its HTML.
__all__ = [
    "WHOLE_ARCHIVE", "ChatPage", "article_html", "build_app", "launch", "markdown_text", "new_saved",
    "question_html", "reply_html", "serve",
]


def build_app(assistant: Assistant | None = None, ingestor: Ingestor | None = None) -> gr.Blocks:
    """The page over ``assistant``'s articles (default: the seed article, models loaded now)."""
    assistant = assistant or ready_default_assistant()
    if not assistant.documents:
        assistant.add(seed_document())
    page = ChatPage(assistant, assistant.documents[0], ingestor)
    private = {"api_visibility": "private"}  # only /ask is part of the API
    # Gradio's queue summarises its event log (up to 10,000 events, in pandas) after every event by
    # default; every 100 events is plenty for its monitoring page. Under 50 clients at once it cut
    # the server's CPU per answer from 81 to 69 ms.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")
    with gr.Blocks(title="Ask the article", analytics_enabled=False) as app:
        saved = gr.BrowserState(new_saved(), storage_key="article-qa-visit")
        gr.Markdown(
            "## Ask the article\nAnswers are exact quotes from the article, or an honest *it doesn't say*."
        )
        with gr.Row():
            with gr.Column(scale=3):
                document_choice = gr.Dropdown(
                    choices=page.choices(None),
                    value=page.default_choice,
                    label="Article",
                    elem_id="article-choice",
                )
                # Replies are HTML built from escaped text; the sanitizer is a second line of defence,
                # and no LaTeX delimiters means a "$$" in an article shows as typed.
                chat = gr.Chatbot(
                    # No label badge: it sat over the top message.
                    label="Chat", show_label=False, height=480, elem_id="chat", sanitize_html=True, latex_delimiters=[],
                    buttons=["copy"], placeholder=WELCOME,
                    # Each message its own bubble: a "Now asking about" note is not part of the answer before it.
                    group_consecutive_messages=False,
                )
                # Typed into once the visit is restored (``page.restore``), which would otherwise
                # replace a chat begun meanwhile with the saved one: a question asked in the page's
                # first moments vanished from the chat on a busy server.
                question = gr.Textbox(
                    label="Your question",
                    placeholder=f"e.g. {EXAMPLE_QUESTIONS[0]}",
                    max_lines=3,
                    max_length=MAX_QUESTION_CHARS,
                    elem_id="question",
                    interactive=False,
                )
                with gr.Row():
                    ask_button = gr.Button("Ask", variant="primary", elem_id="ask", scale=3)
                    clear_button = gr.Button("New chat", elem_id="clear", scale=1)
                status = gr.Markdown(elem_id="status")
                examples = gr.Dataset(
                    components=[gr.Textbox(visible=False)],
                    samples=[[q] for q in EXAMPLE_QUESTIONS],
                    label="Try",
                    elem_id="examples",
                )
                with gr.Accordion("Bring your own article", open=False, elem_id="own-article"):
                    gr.Markdown(BRING_YOUR_OWN)
                    # No file_types filter: every refused file gets the same explanation in the status line.
                    upload = gr.File(label=f"Upload a file: {', '.join(SUPPORTED_SUFFIXES)}", elem_id="upload")
                    pasted_title = gr.Textbox(label="Title", placeholder=PASTED_TITLE, elem_id="paste-title")
                    pasted_text = gr.Textbox(
                        label="Or paste the article's text, or a link to it", lines=6, elem_id="paste-text",
                        max_length=MAX_DOCUMENT_CHARS,
                    )
                    paste_button = gr.Button("Use the pasted text", elem_id="paste")
                    cancel_button = gr.Button("Cancel", variant="stop", visible=False, elem_id="cancel")
            with gr.Column(scale=2):
                article = gr.HTML(
                    page.panel(page.default_choice), elem_id="article-panel", js_on_load=None
                )

        asked = gr.State("")  # the question step one showed, for step two to answer
        shown = {"fn": page.show_question, "inputs": [question, chat], "outputs": [chat, question, asked], "queue": False}
        ask_inputs, ask_outputs = [asked, chat, document_choice, saved], [chat, question, article, saved]
        for trigger in (ask_button.click, question.submit):
            trigger(**shown, **private).then(page.respond, ask_inputs, ask_outputs, **MODEL_QUEUE, **private).then(
                None, js=AFTER_ANSWER, **private
            )
        examples.click(lambda sample: sample[0], [examples], [question], queue=False, **private).then(
            **shown, **private
        ).then(page.respond, ask_inputs, ask_outputs, **MODEL_QUEUE, **private).then(None, js=AFTER_ANSWER, **private)
        clear_button.click(page.clear, [saved], [chat, saved], **private)
        chat.clear(page.clear, [saved], [chat, saved], **private)  # the chat's own bin button
        ingest_outputs = [document_choice, status, cancel_button, saved]
        # The file box is emptied afterwards, ready for the next file.
        upload.upload(page.upload, [upload, saved], ingest_outputs, **INGEST_QUEUE, **private).then(
            lambda: None, None, [upload], **private
        )
        paste_button.click(
            page.paste, [pasted_text, pasted_title, saved], ingest_outputs, **INGEST_QUEUE, **private
        )
        cancel_button.click(page.cancel, None, [status], **private)
        # The tab closed (or reloaded): its upload stops, unless the reloaded page follows it again.
        app.unload(page.leave)
        # Chosen by the visitor, or by an upload or a paste that just finished.
        document_choice.change(
            page.switch, [document_choice, chat, saved], [chat, article, question, examples, saved], **private
        )
        app.load(
            page.restore, [saved], [document_choice, chat, article, question, examples, status, cancel_button, saved],
            **INGEST_QUEUE, **private,
        )
        # Its question alone ({"data": ["Who?"]}) is answered too: Gradio refuses fewer values than
        # the function's parameters before the function runs, unless they take their defaults.
        with_defaults(app, gr.api(page.api_ask, api_name="ask", **MODEL_QUEUE))
    app.page = page  # for tests and for closing the ingestion worker
    return app


def launch(app: gr.Blocks, server: ServerSettings = ServerSettings(), api_keys: set[str] = frozenset()) -> str:
    """Start serving ``app`` in the background (never through a public share link), with the REST
    API at /v1 and /healthz and /readyz beside it (``qa.rest``); its URL."""
    server_app, url, _ = app.launch(
        server_name=server.host,
        server_port=server.port,
        share=False,
        prevent_thread_lock=True,
        quiet=True,
        css=CSS,
        head=PLAIN_TEXT_SCRIPT + QUESTION_QUEUE_SCRIPT + STALE_STATUS_SCRIPT,
        max_file_size=UPLOAD_LIMIT_BYTES,
    )
    page = app.page
    service = Service(page.assistant, page.ingestor, page.default_document.id, api_keys)
    add_to(server_app, service)
    page.service = service  # the page's /ask asks what its caller may, as /v1 does
    return url


def serve(
    host: str | None = None, port: int | None = None, archive: str | Path | None = None, api_keys: set[str] = frozenset()
) -> None:
    """Load the models and the seed index once (and the ``archive``, if any: qa index --archive),
    then serve the page and the REST API until interrupted."""
    assistant = ready_default_assistant()
    if archive:
        assistant.use_archive(archive)
    app = build_app(assistant)
    # SIGTERM (a service manager, kill) and Ctrl-C alike: a clean stop, not a traceback.
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    server = dataclasses.replace(assistant.settings.server, **{k: v for k, v in (("host", host), ("port", port)) if v is not None})
    print(f"Ask the article at {launch(app, server, set(api_keys) | api_keys_from_environment())}", flush=True)
    if not app.page.assistant.store.writable():
        print(
            f"note: {app.page.assistant.store.root} can't be written: articles are indexed in memory only",
            flush=True,
        )
    while not stopping.wait(0.5):  # woken often: the main thread runs the signal handlers
        pass
    stop(app)
    print("Stopped: the answers in flight were finished, the indexing worker stopped.", flush=True)


def stop(app: gr.Blocks) -> None:
    """Stop serving: the server finishes the requests in flight and closes; the indexing worker
    stops, removing what a build in progress left half-written."""
    app.close()
    app.page.ingestor.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("qa").setLevel(logging.INFO)  # model loading and index building, not HTTP chatter
    serve()
