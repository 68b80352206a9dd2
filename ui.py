"""The chat page: ask an article, see the answer highlighted in its sentence and in the article.

    python ui.py            # or: qa serve [--host 127.0.0.1] [--port 7860]

Every piece of user or article text is escaped (``html.escape``) before it becomes HTML, so an
article holding ``<script>`` shows that text and runs nothing. Programs can call the named API
endpoint ``/ask`` with ``gradio_client``::

    Client("http://127.0.0.1:7860").predict("What does INDUS-X aim at?", "", api_name="/ask")
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from qa.documents import MAX_DOCUMENT_CHARS, Document, document_from_bytes, document_from_text
from qa.errors import QAError
from qa.pipeline import Answer, Assistant, default_assistant, seed_document

logger = logging.getLogger(__name__)

EXAMPLE_QUESTIONS = [
    "What does INDUS-X aim at?",
    "When did the US Defence Secretary arrive in New Delhi?",
    "What are India and the US exploring co-producing?",
    "What is the budget of INDUS-X?",
]
# Raw bytes of an upload: UTF-8 text takes up to 4 bytes a character.
MAX_UPLOAD_BYTES = 4 * MAX_DOCUMENT_CHARS
SHOWN_QUESTION_CHARS = 300
# Everything that runs the models shares one worker: the reader's tokenizer is not safe to call
# from two threads at once, and two CPU cores gain nothing from running two questions together.
MODEL_QUEUE = {"concurrency_id": "models", "concurrency_limit": 1}

CSS = """
#article { position: relative; max-height: 72vh; overflow-y: auto; line-height: 1.55; padding-right: 0.5em; }
#article p { white-space: pre-line; margin: 0 0 0.9em; }
#article mark.cited, .qa-reply mark { background: #ffe58a; color: inherit; }
#article mark.closest { background: none; outline: 2px dashed #c9a400; }
.qa-reply blockquote { margin: 0.4em 0; padding-left: 0.8em; border-left: 3px solid #ccc; }
.qa-muted { opacity: 0.7; font-size: 0.9em; }
"""
# After each answer, scroll the article panel (not the page) so the cited sentence is in view.
# requestAnimationFrame: the panel's new HTML is in the DOM by the next frame.
SCROLL_TO_CITATION = """() => requestAnimationFrame(() => {
    const panel = document.querySelector('#article');
    const cited = panel && panel.querySelector('mark.cited');
    if (cited) {
        panel.scrollTo({top: Math.max(cited.offsetTop - panel.clientHeight / 3, 0), behavior: 'smooth'});
    }
})"""
# Runs of text without a blank line in them: the article's paragraphs.
PARAGRAPH = re.compile(r"(?:[^\n]|\n(?![ \t]*\n))+")
MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def highlighted(text: str, offset: int, spans: list[tuple[int, int, str, str]]) -> str:
    """``text`` (found at ``offset`` in its document) escaped, with each span wrapped in its element.

    ``spans`` are (start, end, element, css class) in document offsets, outermost first, each inside
    the one before; a span reaching outside ``text`` is clipped to it.
    """
    if not spans:
        return html.escape(text)
    (start, end, element, css_class), inner = spans[0], spans[1:]
    start = min(max(start - offset, 0), len(text))
    end = min(max(end - offset, start), len(text))
    if start == end:
        return html.escape(text)
    attribute = f' class="{css_class}"' if css_class else ""
    return (
        f"{html.escape(text[:start])}<{element}{attribute}>"
        f"{highlighted(text[start:end], offset + start, inner)}</{element}>{html.escape(text[end:])}"
    )


def one_line(text: str) -> str:
    """``text`` with its newlines as spaces: same length (offsets still hold), and no blank line to
    end the chat's HTML block, which would hand the rest to the Markdown renderer."""
    return text.replace("\n", " ")


def markdown_text(text: str) -> str:
    """``text`` for a Markdown component, shown as it is: HTML escaped, Markdown punctuation too."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(text))


def question_html(question: str) -> str:
    """The user's question as shown in the chat: whitespace collapsed, shortened, escaped."""
    shown = " ".join(question.split())
    if len(shown) > SHOWN_QUESTION_CHARS:
        shown = shown[:SHOWN_QUESTION_CHARS] + "…"
    return f'<p class="qa-question">{html.escape(shown) or "<em>(empty question)</em>"}</p>'


def reply_html(answer: Answer) -> str:
    """One chat reply: the answer, its sentence with the answer highlighted, the confidence, and
    the alternatives; or, when the article doesn't say, the closest sentence found."""
    sentence = one_line(answer.sentence)
    if not answer.answerable:
        closest = (
            f"<p>The closest sentence I found:</p><blockquote>{html.escape(sentence)}</blockquote>"
            if sentence.strip()
            else ""
        )
        return (
            '<div class="qa-reply qa-abstain"><p><strong>The article doesn\'t say.</strong> '
            f'<span class="qa-muted">confidence that it does: {answer.score:.0%}</span></p>{closest}</div>'
        )
    marked = highlighted(sentence, answer.sentence_start, [(answer.start, answer.end, "mark", "")])
    alternatives = ""
    if answer.alternatives:
        items = "".join(
            f"<li><strong>{html.escape(one_line(alternative.text))}</strong> "
            f'<span class="qa-muted">({alternative.score:.0%}) in: '
            f"{html.escape(one_line(alternative.sentence))}</span></li>"
            for alternative in answer.alternatives
        )
        alternatives = f"<details><summary>Other candidates</summary><ul>{items}</ul></details>"
    return (
        f'<div class="qa-reply"><p><strong class="qa-answer">{html.escape(one_line(answer.text))}</strong> '
        f'<span class="qa-muted">confidence {answer.score:.0%}</span></p>'
        f"<blockquote>{marked}</blockquote>{alternatives}</div>"
    )


def note_html(text: str, kind: str) -> str:
    """A message from the page itself, escaped: ``kind`` "error" (a question that can't be asked)
    or "switch" (the chat now asks another article)."""
    return f'<p class="qa-{kind}">{html.escape(text)}</p>'


def article_html(document: Document, answer: Answer | None = None) -> str:
    """The article as escaped paragraphs, with the cited sentence marked and the answer in bold.

    For an abstention the closest sentence is marked too, in a style that says it is no answer.
    """
    spans = []
    if answer is not None and answer.sentence_start is not None:
        css_class = "cited" if answer.answerable else "cited closest"
        spans.append((answer.sentence_start, answer.sentence_end, "mark", css_class))
        if answer.answerable:
            spans.append((answer.start, answer.end, "strong", ""))
    paragraphs = "".join(
        f"<p>{highlighted(match.group(), match.start(), spans)}</p>"
        for match in PARAGRAPH.finditer(document.text)
        if match.group().strip()
    )
    return f'<h3>{html.escape(document.title)}</h3><div id="article">{paragraphs}</div>'


def api_payload(answer: Answer) -> dict:
    """The ``/ask`` JSON: the ``Answer`` fields, with the span's text under ``answer``."""
    payload = answer.to_dict()
    payload["answer"] = payload.pop("text")
    for alternative in payload["alternatives"]:
        alternative["answer"] = alternative.pop("text")
    return payload


class ChatPage:
    """What the page does, apart from its layout, so it reads (and tests) as plain Python."""

    def __init__(self, assistant: Assistant, default_document: Document) -> None:
        self.assistant = assistant
        self.default_document = default_document

    def choices(self) -> list[tuple[str, str]]:
        return [(document.title, document.id) for document in self.assistant.documents]

    def refreshed_choices(self):
        """The dropdown lists every loaded article, including those loaded after the page was built."""
        return gr.update(choices=self.choices())

    def respond(self, question: str, history: list, document_id: str):
        """The question and its reply appended to the chat, and the cited sentence shown in the
        article; a question that can't be asked gets a message and stays in its box to be fixed."""
        history = [*(history or []), {"role": "user", "content": question_html(question or "")}]
        try:
            document = self.assistant.document(document_id or self.default_document.id)
            answer = self.assistant.ask(question, document_id=document.id)
        except QAError as error:
            history.append({"role": "assistant", "content": note_html(str(error), "error")})
            return history, gr.update(), gr.update()
        history.append({"role": "assistant", "content": reply_html(answer)})
        return history, "", article_html(document, answer)

    def add_document(self, make_document: Callable[[], Document]):
        """Load and select a new article; when it can't be loaded, say why and keep the current one."""
        try:
            document = self.assistant.add(make_document())
        except QAError as error:
            return gr.update(), f"⚠️ {markdown_text(str(error))} — the current article stays loaded."
        return (
            gr.update(choices=self.choices(), value=document.id),
            f"Loaded **{markdown_text(document.title)}**: ask away.",
        )

    def upload(self, path: str | None):
        if not path:  # the upload was cleared
            return gr.update(), ""
        return self.add_document(lambda: document_from_bytes(Path(path).read_bytes(), Path(path).name))

    def paste(self, text: str, title: str):
        title = (title or "").strip() or "Pasted article"
        return self.add_document(lambda: document_from_text(text or "", title))

    def switch(self, document_id: str, history: list):
        """Show the newly selected article; the chat says which article it now asks."""
        try:
            document = self.assistant.document(document_id)
        except QAError as error:
            note, article = note_html(str(error), "error"), gr.update()
        else:
            note, article = note_html(f"Now asking about: {document.title}", "switch"), article_html(document)
        return [*(history or []), {"role": "assistant", "content": note}], article

    def api_ask(self, question: str, document_id: str = "") -> dict:
        """Answer ``question`` about the article ``document_id`` (empty: the default article).

        Returns the answer's fields (answer, score, answerable, sentence, start, end,
        sentence_start, sentence_end, document_id, document_title, alternatives), or
        ``{"error": message}``.
        """
        try:
            answer = self.assistant.ask(question, document_id=document_id or self.default_document.id)
        except QAError as error:
            return {"error": str(error)}
        except Exception:  # a caller gets JSON whatever happens; the details go to the log
            logger.exception("/ask failed")
            return {"error": "internal error: the question could not be answered"}
        return api_payload(answer)


def ready_assistant() -> Assistant:
    """The seed article's assistant with its index built (or loaded) and both models in memory, so
    that no request waits on start-up work."""
    assistant = default_assistant()
    assistant.embedder.load()
    assistant.reader.load()
    return assistant


def build_app(assistant: Assistant | None = None) -> gr.Blocks:
    """The page over ``assistant``'s articles (default: the seed article, models loaded now)."""
    assistant = assistant or ready_assistant()
    if not assistant.documents:
        assistant.add(seed_document())
    page = ChatPage(assistant, assistant.documents[0])
    private = {"api_visibility": "private"}  # only /ask is part of the API
    private_model_event = {**MODEL_QUEUE, **private}
    with gr.Blocks(title="Ask the article", analytics_enabled=False) as app:
        gr.Markdown(
            "## Ask the article\nAnswers are exact quotes from the article, or an honest *it doesn't say*."
        )
        with gr.Row():
            with gr.Column(scale=3):
                document_choice = gr.Dropdown(
                    choices=page.choices(),
                    value=page.default_document.id,
                    label="Article",
                    elem_id="article-choice",
                )
                # Replies are HTML built from escaped text; the sanitizer is a second line of defence,
                # and no LaTeX delimiters means a "$$" in an article shows as typed.
                chat = gr.Chatbot(
                    label="Chat", height=480, elem_id="chat", sanitize_html=True, latex_delimiters=[]
                )
                question = gr.Textbox(
                    label="Your question",
                    placeholder="What does INDUS-X aim at?",
                    max_lines=3,
                    elem_id="question",
                )
                ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                examples = gr.Examples(
                    examples=[[q] for q in EXAMPLE_QUESTIONS], inputs=[question], label="Try", **private
                )
                with gr.Accordion("Bring your own article", open=False, elem_id="own-article"):
                    # No file_types filter: every refused file gets the same explanation in the status line.
                    upload = gr.File(label="Upload a .txt, .md or .html file", elem_id="upload")
                    pasted_title = gr.Textbox(
                        label="Title", placeholder="Pasted article", elem_id="paste-title"
                    )
                    pasted_text = gr.Textbox(
                        label="Or paste the article's text", lines=6, elem_id="paste-text"
                    )
                    paste_button = gr.Button("Use the pasted text", elem_id="paste")
                status = gr.Markdown(elem_id="status")
            with gr.Column(scale=2):
                article = gr.HTML(
                    article_html(page.default_document), elem_id="article-panel", js_on_load=None
                )

        for trigger in (ask_button.click, question.submit, examples.load_input_event.then):
            trigger(
                page.respond,
                [question, chat, document_choice],
                [chat, question, article],
                **private_model_event,
            ).then(None, js=SCROLL_TO_CITATION, **private)
        upload.upload(page.upload, [upload], [document_choice, status], **private_model_event)
        paste_button.click(
            page.paste, [pasted_text, pasted_title], [document_choice, status], **private_model_event
        )
        document_choice.change(page.switch, [document_choice, chat], [chat, article], **private)
        app.load(page.refreshed_choices, None, [document_choice], **private)
        gr.api(page.api_ask, api_name="ask", **MODEL_QUEUE)
    return app


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860) -> str:
    """Start serving ``app`` in the background (never through a public share link); its URL."""
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        prevent_thread_lock=True,
        quiet=True,
        css=CSS,
        max_file_size=MAX_UPLOAD_BYTES,
    )
    return app.local_url


def serve(host: str = "127.0.0.1", port: int = 7860) -> None:
    """Load the models and the seed index once, then serve the page until interrupted."""
    app = build_app()
    print(f"Ask the article at {launch(app, host, port)}", flush=True)
    app.block_thread()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("qa").setLevel(logging.INFO)  # model loading and index building, not HTTP chatter
    serve()
