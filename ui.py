"""The chat page: ask an article, see the answer highlighted in its sentence and in the article.

    python ui.py            # or: qa serve [--host 127.0.0.1] [--port 7860]

Every piece of user or article text is escaped before it becomes HTML (``html.escape``), so an
article holding ``<script>`` shows that text and runs nothing. Programs can call the named API
endpoint ``/ask`` (see ``api_ask``) with ``gradio_client``.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import gradio as gr

from qa.documents import MAX_DOCUMENT_CHARS, Document, document_from_bytes, document_from_text
from qa.errors import QAError
from qa.pipeline import Answer, Assistant, default_assistant

logger = logging.getLogger(__name__)

EXAMPLE_QUESTIONS = [
    "What does INDUS-X aim at?",
    "When did the US Defence Secretary arrive in New Delhi?",
    "What are India and the US exploring co-producing?",
    "What is the budget of INDUS-X?",
]
MAX_UPLOAD_BYTES = 4 * MAX_DOCUMENT_CHARS
SUPPORTED_UPLOADS = [".txt", ".md", ".html", ".htm"]

CSS = """
#article { max-height: 70vh; overflow-y: auto; white-space: pre-wrap; line-height: 1.5; }
#article mark.cited, .qa-reply mark { background: #ffe58a; color: inherit; }
.qa-reply blockquote { margin: 0.4em 0; padding-left: 0.8em; border-left: 3px solid #ccc; }
.qa-confidence { opacity: 0.7; font-size: 0.9em; }
"""
# After each answer, bring the cited sentence of the article panel into view.
SCROLL_TO_CITATION = (
    "() => { const m = document.querySelector('#article mark.cited');"
    " if (m) m.scrollIntoView({block: 'center', behavior: 'smooth'}); }"
)


def _marked(text: str, start: int, end: int, css_class: str = "") -> str:
    """``text`` escaped, with ``text[start:end]`` wrapped in <mark>."""
    attribute = f' class="{css_class}"' if css_class else ""
    return (
        f"{html.escape(text[:start])}<mark{attribute}>{html.escape(text[start:end])}</mark>"
        f"{html.escape(text[end:])}"
    )


def reply_html(answer: Answer) -> str:
    """One chat reply: the answer, its sentence with the answer highlighted, the confidence."""
    if not answer.answerable:
        closest = f"<blockquote>{html.escape(answer.sentence)}</blockquote>" if answer.sentence else ""
        return (
            f'<div class="qa-reply"><p><strong>The article doesn\'t say.</strong></p>'
            f"<p>Closest sentence I found:</p>{closest}</div>"
        )
    offset = answer.start - answer.sentence_start
    sentence = _marked(answer.sentence, offset, offset + len(answer.text))
    alternatives = ""
    if answer.alternatives:
        items = "".join(
            f"<li>{html.escape(a.text)} <span class=\"qa-confidence\">({a.score:.0%})</span></li>"
            for a in answer.alternatives
        )
        alternatives = f"<details><summary>Alternatives</summary><ul>{items}</ul></details>"
    return (
        f'<div class="qa-reply"><p><strong>{html.escape(answer.text)}</strong> '
        f'<span class="qa-confidence">confidence {answer.score:.0%}</span></p>'
        f"<blockquote>{sentence}</blockquote>{alternatives}</div>"
    )


def article_html(document: Document, answer: Answer | None = None) -> str:
    """The whole article, escaped, with the cited sentence marked (and the answer in bold)."""
    title = f"<h3>{html.escape(document.title)}</h3>"
    text = document.text
    if answer is None or answer.sentence_start is None:
        return f'{title}<div id="article">{html.escape(text)}</div>'
    start, end = answer.sentence_start, answer.sentence_end
    sentence = html.escape(text[start:end])
    if answer.answerable:
        sentence = (
            f"{html.escape(text[start:answer.start])}<strong>{html.escape(answer.text)}</strong>"
            f"{html.escape(text[answer.end:end])}"
        )
    body = f'{html.escape(text[:start])}<mark class="cited">{sentence}</mark>{html.escape(text[end:])}'
    return f'{title}<div id="article">{body}</div>'


class ChatPage:
    """The page's behaviour, kept apart from its layout so it reads (and tests) as plain Python."""

    def __init__(self, assistant: Assistant, default_document: Document) -> None:
        self.assistant = assistant
        self.default_document = default_document

    def choices(self) -> list[tuple[str, str]]:
        return [(d.title, d.id) for d in self.assistant.documents]

    def respond(self, question: str, history: list, document_id: str):
        """Append the question and its reply to the chat; show the cited sentence in the article."""
        document = self.assistant.document(document_id or self.default_document.id)
        history = list(history or [])
        shown_question = html.escape(question.strip()[:300] + ("…" if len(question.strip()) > 300 else ""))
        try:
            answer = self.assistant.ask(question, document_id=document.id)
        except QAError as error:
            history.append({"role": "user", "content": shown_question or "(empty question)"})
            history.append({"role": "assistant", "content": html.escape(str(error))})
            return history, "", gr.update()
        history.append({"role": "user", "content": shown_question})
        history.append({"role": "assistant", "content": reply_html(answer)})
        return history, "", article_html(document, answer)

    def add_document(self, make_document, current_id: str):
        """Load a document; on failure keep the current one and say why."""
        try:
            document = self.assistant.add(make_document())
        except QAError as error:
            return gr.update(), f"⚠️ {html.escape(str(error))} The current article stays loaded.", gr.update()
        return (
            gr.update(choices=self.choices(), value=document.id),
            f"Loaded **{html.escape(document.title)}**: ask away.",
            article_html(document),
        )

    def upload(self, path: str | None, current_id: str):
        if not path:
            return gr.update(), "", gr.update()
        name = Path(path).name

        def read() -> Document:
            size = Path(path).stat().st_size
            if size > MAX_UPLOAD_BYTES:
                raise QAError(f"{name} is {size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,}.")
            return document_from_bytes(Path(path).read_bytes(), name)

        return self.add_document(read, current_id)

    def paste(self, text: str, title: str, current_id: str):
        return self.add_document(lambda: document_from_text(text or "", title.strip() or "Pasted article"), current_id)

    def switch(self, document_id: str):
        return [], article_html(self.assistant.document(document_id))

    def api_ask(self, question: str, document_id: str = "") -> dict:
        """Structured answer for programs: the ``Answer`` fields, or ``{"error": ...}``."""
        try:
            answer = self.assistant.ask(question, document_id=document_id or self.default_document.id)
        except QAError as error:
            return {"error": str(error)}
        return answer.to_dict()


def build_app(assistant: Assistant | None = None) -> gr.Blocks:
    """The page over ``assistant`` (default: the seed article's)."""
    assistant = assistant or default_assistant()
    page = ChatPage(assistant, assistant.documents[0])
    with gr.Blocks(title="Ask the article") as app:
        gr.Markdown("## Ask the article\nAnswers are exact quotes from the article, or an honest *it doesn't say*.")
        with gr.Row():
            with gr.Column(scale=3):
                document_choice = gr.Dropdown(
                    choices=page.choices(), value=page.default_document.id, label="Article", interactive=True
                )
                chat = gr.Chatbot(label="Chat", height=480, sanitize_html=True, render_markdown=True)
                question = gr.Textbox(
                    label="Your question", placeholder="What does INDUS-X aim at?", max_lines=3, elem_id="question"
                )
                ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                gr.Examples(examples=[[q] for q in EXAMPLE_QUESTIONS], inputs=[question], label="Try")
                with gr.Accordion("Bring your own article", open=False):
                    upload = gr.File(
                        label="Upload .txt, .md or .html", file_types=SUPPORTED_UPLOADS, type="filepath",
                        elem_id="upload",
                    )
                    pasted_title = gr.Textbox(label="Title", placeholder="Pasted article", elem_id="paste-title")
                    pasted_text = gr.Textbox(label="Or paste the article", lines=6, elem_id="paste-text")
                    paste_button = gr.Button("Use pasted text", elem_id="paste")
                status = gr.Markdown(elem_id="status")
            with gr.Column(scale=2):
                article = gr.HTML(article_html(page.default_document), elem_id="article-panel")

        for trigger in (ask_button.click, question.submit):
            trigger(
                page.respond, [question, chat, document_choice], [chat, question, article], api_visibility="private"
            ).then(None, js=SCROLL_TO_CITATION)
        upload.upload(page.upload, [upload, document_choice], [document_choice, status, article],
                      api_visibility="private")
        paste_button.click(page.paste, [pasted_text, pasted_title, document_choice],
                           [document_choice, status, article], api_visibility="private")
        document_choice.change(page.switch, [document_choice], [chat, article], api_visibility="private")
        gr.api(page.api_ask, api_name="ask")
    return app


def serve(host: str = "127.0.0.1", port: int = 7860) -> None:
    """Load everything once, then serve; no public share link."""
    assistant = default_assistant()  # the seed index is loaded (or built once and cached in index/)
    assistant.embedder.load()
    assistant.reader.load()
    app = build_app(assistant)
    print(f"Serving the chat page on http://{host}:{port}", flush=True)
    app.launch(server_name=host, server_port=port, share=False, css=CSS, max_file_size=MAX_UPLOAD_BYTES)


if __name__ == "__main__":
    serve()
