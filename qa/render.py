"""The chat page's HTML, from answers and articles: pure functions, every text escaped.

>>> highlighted("He arrived on Sunday.", 100, [(114, 120, "mark", "")])
'He arrived on <mark>Sunday</mark>.'
"""

from __future__ import annotations

import html
import logging
import re

from qa.answer import SPAN, SUMMARY, VERDICT, Answer
from qa.documents import MAX_DOCUMENT_CHARS, MAX_FILE_BYTES, Document
from qa.errors import QAError
from qa.language import article_language_note

logger = logging.getLogger("ui")

# Gradio refuses files above this with its own red toast; below it, a file over MAX_FILE_BYTES
# reaches the page, whose status line says how big it is and what the limit is.
UPLOAD_LIMIT_BYTES = 4 * MAX_FILE_BYTES
# What the page promises of the articles a visitor brings (Markdown).
BRING_YOUR_OWN = (
    f"A .txt or .md file, or pasted text, of up to {MAX_DOCUMENT_CHARS:,} characters; a saved .html page, "
    f"a PDF with a text layer or a Word .docx, up to {MAX_FILE_BYTES // 1_000_000} MB; or a link. Only you see "
    "the articles you bring."
)
# What the empty chat says (Markdown).
WELCOME = (
    # Where the article is depends on the screen: beside the chat, or below it on a phone (page_scripts' CSS).
    '**Ask the article <span class="qa-wide">on the right</span><span class="qa-narrow">below</span> anything** '
    "— who, what, when, where — or ask about it as a whole: "
    "*What is it about?*, *the main points?*, *Who is mentioned?* Every answer quotes the article, or says "
    "it doesn't say. Bring your own article below: a file, pasted text or a link."
)
# A user's question is shown cut to this many characters.
SHOWN_QUESTION_CHARS = 300
# A reply quotes at most this much of its sentence, around the answer: an article of one
# 2,000,000-character line would otherwise be quoted whole in every reply (and fill the browser's
# storage of the conversation after two).
MAX_QUOTED_CHARS = 400
PASSAGE_SHOWN_CHARS = 240  # of each passage read, in "Why this answer?"
SORRY = "Sorry, something went wrong on our side; it has been logged. Please try again."

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
    """``text`` for a Markdown component, shown as it is: HTML escaped (quotes need not be, and an
    escaped one would show as "&#x27;" once its "#" is escaped too), Markdown punctuation too."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(text, quote=False))


def question_html(question: str) -> str:
    """The user's question as shown in the chat: whitespace collapsed, shortened, escaped."""
    shown = " ".join(question.split())
    if len(shown) > SHOWN_QUESTION_CHARS:
        shown = shown[:SHOWN_QUESTION_CHARS] + "…"
    return f'<p class="qa-question">{html.escape(shown) or "<em>(empty question)</em>"}</p>'


def quoted(answer: Answer) -> tuple[str, int | None]:
    """The answer's sentence as the reply quotes it, and where that quote starts in the article: a
    "sentence" longer than ``MAX_QUOTED_CHARS`` (an article of one long line) is cut to the words
    around the answer, with an ellipsis at each cut end.

    >>> from qa.answer import Context
    >>> long = Answer("Q", "noon", 1.0, True, "x " * 500 + "at noon " + "y " * 500, Context("d", 1003, 1007), Context("d", 0, 2008), "d", "T")
    >>> text, start = quoted(long)
    >>> len(text) < 420 and "at noon" in text and text.startswith("…") and text.endswith("…"), start
    (True, 802)
    """
    sentence, place = one_line(answer.sentence), answer.sentence_span
    if len(sentence) <= MAX_QUOTED_CHARS or place is None:
        return sentence, place.start if place else None
    middle = (answer.span or place).start - place.start
    first = max(0, min(middle - MAX_QUOTED_CHARS // 2, len(sentence) - MAX_QUOTED_CHARS))
    last = first + MAX_QUOTED_CHARS
    first, last = _word_edge(sentence, first, -1), _word_edge(sentence, last, 1)
    cut = ("…" if first > 0 else "") + sentence[first:last] + ("…" if last < len(sentence) else "")
    return cut, place.start + first - (1 if first > 0 else 0)


def _word_edge(text: str, at: int, step: int) -> int:
    """``at`` moved (by ``step``) to the nearest space, so a cut falls between words."""
    while 0 < at < len(text) and not text[at].isspace():
        at += step
    return max(0, min(at, len(text)))


# On a phone the article is far below the chat: each answer links to where it is marked.
JUMP_TO_ARTICLE = '<p class="qa-jump"><a href="#article-panel">See it marked in the article ↓</a></p>'


def source_html(answer: Answer) -> str:
    """Which article an answer comes from ("from <title> — <site>, <date>"), linking to its text in
    the article panel."""
    byline = f" — {html.escape(answer.document_byline)}" if answer.document_byline else ""
    return f'<p class="qa-muted qa-source">from <a href="#article-panel">{html.escape(answer.document_title)}</a>{byline}</p>'


# Replies shown in their sentence, the answer marked in it: a span, and a verdict, a reason, a
# manner, a quote or a count (``qa.shapes``); the others are lists or sentences (``overview_html``).
IN_ITS_SENTENCE = frozenset((SPAN, VERDICT, "why", "how", "quote", "count"))


def reply_html(answer: Answer) -> str:
    """One chat reply: the answer, its sentence with the answer highlighted, the confidence, and
    the alternatives, and which article it comes from; or, when the article doesn't say, the
    closest sentence found. An answer about the whole article is its sentences or a list
    (``overview_html``)."""
    source = source_html(answer) if answer.answerable and answer.document_title else ""
    if answer.kind not in IN_ITS_SENTENCE:
        return overview_html(answer, source)
    sentence, sentence_start = quoted(answer)
    if not answer.answerable:
        closest = (
            f"<p>The closest sentence I found:</p><blockquote>{html.escape(sentence)}</blockquote>"
            if sentence.strip()
            else ""
        )
        confidence = f"confidence that it does: {answer.score:.0%}" if answer.kind == SPAN else f"confidence {answer.score:.0%}"
        said = "The article doesn't say." if answer.kind == SPAN else str(answer)
        return (
            f'<div class="qa-reply qa-abstain"><p><strong>{html.escape(said, quote=False)}</strong> '
            f'<span class="qa-muted">{confidence}</span></p>{closest}'
            f"{source}{understood_html(answer)}</div>"
        )
    marked = highlighted(sentence, sentence_start, [(answer.span.start, answer.span.end, "mark", "")])
    return (
        f'<div class="qa-reply"><p><strong class="qa-answer">{html.escape(one_line(answer.text))}</strong> '
        f'<span class="qa-muted">confidence {answer.score:.0%}</span></p>'
        f"<blockquote>{marked}</blockquote>{source}{understood_html(answer)}{why_html(answer)}{JUMP_TO_ARTICLE}</div>"
    )


def why_html(answer: Answer) -> str:
    """"Why this answer?", folded: the passages read, each with the best span found there and its
    confidence, and the runner-up answers."""
    passages = "".join(
        f"<li>{html.escape(_cut(one_line(passage.text), PASSAGE_SHOWN_CHARS))} "
        f'<span class="qa-muted">— best there: {html.escape(one_line(passage.best)) or "nothing"} ({passage.score:.0%})</span></li>'
        for passage in answer.read
    )
    runners_up = "".join(
        f"<li><strong>{html.escape(one_line(alternative.text))}</strong> "
        f'<span class="qa-muted">({alternative.score:.0%}) in: {html.escape(one_line(alternative.sentence))}</span></li>'
        for alternative in answer.alternatives
    )
    parts = (f"<p>Passages read:</p><ol>{passages}</ol>" if passages else "") + (
        f"<p>Other candidates:</p><ul>{runners_up}</ul>" if runners_up else ""
    )
    return f'<details class="qa-why"><summary>Why this answer?</summary>{parts}</details>' if parts else ""


def _cut(text: str, limit: int) -> str:
    """``text`` cut after at most ``limit`` characters, between words.

    >>> _cut("The ferry sailed again on Tuesday.", 20)
    'The ferry sailed …'
    """
    return text if len(text) <= limit else text[: _word_edge(text, limit, -1)].rstrip() + " …"


# What an article-level answer lists, and what the article doesn't say when it has none of it.
OVERVIEW_LABELS = {
    "summary": ("In the article's own words:", "anything to summarize"),
    "main_points": ("The main points, in the article's own sentences:", "any points"),
    "people": ("People named:", "anyone by name"),
    "organisations": ("Organisations named:", "any organisation by name"),
    "places": ("Places named:", "any place by name"),
    "date": ("Published:", "when it was written"),
    "author": ("By:", "who wrote it"),
}


def overview_html(answer: Answer, source: str = "") -> str:
    """An answer about the whole article: a summary as a quote of its sentences, main points and
    names as a list (each cited sentence is marked in the article panel), a date or author as is."""
    label, missing = OVERVIEW_LABELS.get(answer.kind, ("", "it"))
    if not answer.answerable:
        return (
            f'<div class="qa-reply qa-abstain"><p><strong>The article doesn\'t say {missing}.</strong></p>'
            f"{source}</div>"
        )
    if answer.kind == SUMMARY:
        body = f"<blockquote>{html.escape(one_line(answer.text))}</blockquote>"
    elif answer.citations:
        items = "".join(f"<li>{html.escape(one_line(citation.text))}</li>" for citation in answer.citations)
        body = f"<ul>{items}</ul>"
    else:
        body = f'<p><strong class="qa-answer">{html.escape(one_line(answer.text))}</strong></p>'
    note = '<p class="qa-muted">from the page\'s details</p>' if not answer.citations else ""
    jump = JUMP_TO_ARTICLE if answer.citations and answer.document_id else ""
    return f'<div class="qa-reply qa-overview"><p>{label}</p>{body}{note}{source}{jump}</div>'


def answer_card(answer: Answer) -> str:
    """An answer for a notebook: the reply as the page shows it."""
    return f"<div>{reply_html(answer)}</div>"


def understood_html(answer: Answer) -> str:
    """A quiet line saying how the question was read, when that differs from how it was asked."""
    if not answer.understood_as:
        return ""
    shown = answer.understood_as
    if answer.question_was_cut:
        note = f"Your question was long: I read its beginning, “{html.escape(one_line(shown))}”."
    else:
        note = f"understood as: {html.escape(one_line(shown))}"
    return f'<p class="qa-muted qa-understood">{note}</p>'


def note_html(text: str, kind: str) -> str:
    """A message from the page itself, escaped: ``kind`` "error" (a question that can't be asked)
    or "switch" (the chat now asks another article)."""
    return f'<p class="qa-{kind}">{html.escape(text)}</p>'


def failure_note(error: Exception, doing: str) -> str:
    """A request that failed, as a note in the chat: a QAError's own sentence; anything else an
    apology, with its traceback in the log."""
    if isinstance(error, QAError):
        return note_html(str(error), "error")
    logger.error("%s failed", doing, exc_info=error)
    return note_html(SORRY, "error")


def article_html(document: Document, answer: Answer | None = None) -> str:
    """The article as escaped paragraphs, with the cited sentence marked and the answer in bold.

    For an abstention the closest sentence is marked too, in a style that says it is no answer.
    """
    return _article_html(document, article_marks(answer))


def article_marks(answer: Answer | None) -> list[list[tuple[int, int, str, str]]]:
    """What ``article_html`` marks in the article for ``answer``: plain lists, which the browser
    keeps with the visit so that a reload shows them again (``marks_from_saved``)."""
    if answer is not None and answer.citations:
        return cited_sentences(answer)
    spans = []
    if answer is not None and answer.sentence_span is not None:
        css_class = "cited" if answer.answerable else "cited closest"
        spans.append((answer.sentence_span.start, answer.sentence_span.end, "mark", css_class))
        if answer.span is not None:
            spans.append((answer.span.start, answer.span.end, "strong", ""))
    return [spans] if spans else []


MARK_KINDS = {("mark", "cited"), ("mark", "cited closest"), ("strong", "")}


def marks_from_saved(saved: object) -> list[list[tuple[int, int, str, str]]]:
    """The marks ``article_marks`` made, as the browser gave them back; ValueError (or TypeError)
    when they were tampered with: their elements and classes become HTML, so only those
    ``article_marks`` makes pass.

    >>> marks_from_saved([[[0, 9, "mark", "cited"], [0, 1, "strong", ""]]])
    [[(0, 9, 'mark', 'cited'), (0, 1, 'strong', '')]]
    """
    marks = [[(int(start), int(end), str(element), str(css_class)) for start, end, element, css_class in chain]
             for chain in saved]
    if not all(chain and all(mark[2:] in MARK_KINDS for mark in chain) for chain in marks):
        raise ValueError("not marks made by article_marks")
    return marks


def marked_article_html(document: Document, marks: list[list[tuple[int, int, str, str]]]) -> str:
    """The article with ``marks`` (``article_marks``) applied."""
    return _article_html(document, marks)


def cited_sentences(answer: Answer) -> list[list[tuple[int, int, str, str]]]:
    """The marks of an article-level answer: each cited sentence once, with a cited name inside it
    in bold (the first name cited there).

    >>> from qa.answer import Citation, Context
    >>> sentence = Context("d", 0, 9)
    >>> cited_sentences(Answer("Who?", "A, B", 1.0, True, "", None, sentence, "d", "T", kind="people",
    ...     citations=(Citation("A", Context("d", 0, 1), sentence), Citation("B", Context("d", 4, 5), sentence))))
    [[(0, 9, 'mark', 'cited'), (0, 1, 'strong', '')]]
    """
    marks: dict[int, list[tuple[int, int, str, str]]] = {}
    for citation in answer.citations:
        span, sentence = citation.span, citation.sentence_span
        chain = marks.setdefault(sentence.start, [(sentence.start, sentence.end, "mark", "cited")])
        if span != sentence and len(chain) == 1:
            chain.append((span.start, span.end, "strong", ""))
    return [marks[start] for start in sorted(marks)]


def _article_html(document: Document, marks: list[list[tuple[int, int, str, str]]]) -> str:
    """The article's paragraphs, each mark chain (``highlighted``'s spans) applied where it falls."""
    paragraphs = []
    for match in PARAGRAPH.finditer(document.text):
        if not match.group().strip():
            continue
        start, end = match.span()
        inside = [chain for chain in marks if chain[0][0] < end and chain[0][1] > start]
        pieces, at = [], start
        for chain in inside:  # disjoint sentences, in order
            chain_start, chain_end = max(chain[0][0], at), min(chain[0][1], end)
            pieces.append(html.escape(document.text[at:chain_start]))
            pieces.append(highlighted(document.text[chain_start:chain_end], chain_start, chain))
            at = chain_end
        pieces.append(html.escape(document.text[at:end]))
        paragraphs.append(f"<p>{''.join(pieces)}</p>")
    return f'<h3>{html.escape(document.title)}</h3>{byline_html(document)}<div id="article">{"".join(paragraphs)}</div>'


def byline_html(document: Document) -> str:
    """The byline under the article's title, its link when it came from one (http(s) only)."""
    url = str(document.meta.get("url") or "")
    link = f' — <a href="{html.escape(url)}" rel="noopener noreferrer" target="_blank">the page</a>' if url.startswith(("http://", "https://")) else ""
    text = document.byline
    note = f'<p class="qa-muted qa-language">{html.escape(language)} Answers may miss.</p>' if (language := article_language_note(document.text)) else ""
    return (f'<p class="qa-muted qa-byline">{html.escape(text)}{link}</p>' if text or link else "") + note


def archive_html(count: int) -> str:
    """The article panel while the whole archive is asked, before an answer shows its article."""
    return (
        f"<h3>The whole archive</h3><p>{count:,} articles. Ask a question: the article each answer "
        "comes from shows here, with the answer marked.</p>"
    )


# The typing indicator: the assistant's bubble while a question is being answered.
TYPING_HTML = '<div class="qa-typing" title="answering"><span></span><span></span><span></span></div>'
