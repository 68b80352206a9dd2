"""Loading articles: plain text, Markdown, HTML, PDF and Word files, or pasted text, as clean text and a title.

>>> doc = document_from_text("INDUS-X launched.\\n", title="Seed")
>>> doc.title, doc.text
('Seed', 'INDUS-X launched.')
>>> document_from_bytes(b"# Talks in Delhi\\n\\nAustin met **Singh**.", "notes.md").text
'Talks in Delhi\\n\\nAustin met Singh.'

Every conversion is linear in its input (lxml's C parser; markdown-it-py): a 64,000-row HTML table
converts in about as many times the time of a 1,000-row one (``bench/html_to_text.py``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from qa.config import PASTED_TITLE
from qa.errors import DocumentError
from qa.text import repaired

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
# Read from their bytes, in a child process with bounded time and memory (``qa.formats``).
PAGED_SUFFIXES = {".pdf": "pdf", ".docx": "docx"}
# About 300 pages of text: a long feature is 50,000. Larger articles would take minutes to index
# on two cores (about 60 sentences/s), and belong in an archive.
MAX_DOCUMENT_CHARS = 2_000_000
# Raw bytes of a file: UTF-8 text takes up to 4 bytes a character, and HTML carries markup.
MAX_FILE_BYTES = 4 * MAX_DOCUMENT_CHARS
# HTML elements whose text is not article text.
_NON_CONTENT_TAGS = ("script", "style", "noscript", "template", "head", "nav", "footer", "svg", "iframe", "button", "form")
_BLOCK_TAGS = frozenset(
    "p div section article aside li ul ol h1 h2 h3 h4 h5 h6 blockquote pre table tr br hr header main "
    "figure figcaption dd dt dl".split()
)
_CELL_TAGS = frozenset(("td", "th"))
_HEADINGS = ("h1", "h2", "h3")
# Words: a letter or a digit in any script. An article without one has nothing to index.
_WORD = re.compile(r"[^\W_]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
# Control characters other than whitespace: text has next to none, binary files have many.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
MAX_CONTROL_SHARE = 0.01
# A .txt file's first line is its title when it is a headline this short at most.
MAX_HEADLINE_CHARS = 150
# A PDF's or Word file's title that is a file's name, or a placeholder: what a printer or converter
# writes in the file's details when it knows no title ("pdfsrc.html", "C:\\news\\story.docx",
# "Microsoft Word - story.docx", "Untitled", the page's address): the article's first heading, when
# it reads as one (``headline``), is its title instead.
_FILE_NAME_TITLE = re.compile(
    r"(^|[\\/ ])[^\\/]*\.(html?|xhtml|php|aspx?|jsp|pdf|docx?|odt|rtf|txt|md|tex|ps|xml)$|"
    r"^(untitled|document ?\d*|microsoft word - .*|(https?|file)://\S*)$",
    re.IGNORECASE,
)


logger = logging.getLogger(__name__)
# Pages of more elements than this are read whole: the extractor takes about 0.27 s per 1,000 table
# rows (17 s for a 5.3 MB table of 64,000 rows), the whole-page reading 20 times less. The
# benchmark's real news pages have at most 1,703 elements (median 810).
MAX_EXTRACTED_ELEMENTS = 20_000
# Below this many characters the extractor's own threshold (MIN_EXTRACTED_SIZE) sends it to a
# rougher fallback that cuts paragraphs at inline tags ("They discussed\nINDUS-X\n."): such a page is
# read whole, as it was before.
MIN_ARTICLE_CHARS = 250
# What a page's metadata may say of its article (``Document.meta``), as the extractor names it.
META_FIELDS = ("author", "date", "sitename", "url", "description")


@dataclass(frozen=True)
class Document:
    """An article: ``id`` is stable for the same title and text. ``meta`` holds what its page said
    of it, where known: author, date, site name, url (``META_FIELDS``)."""

    id: str
    title: str
    text: str
    source: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def byline(self) -> str:
        """Where it comes from, as its page said: "Harbour News, 2024-10-21, by Ana Silva".

        >>> Document("d", "T", "x", meta={"sitename": "Harbour News", "date": "2024-10-21", "author": "Ana Silva"}).byline
        'Harbour News, 2024-10-21, by Ana Silva'
        """
        parts = [str(self.meta[key]).strip() for key in ("sitename", "date") if str(self.meta.get(key) or "").strip()]
        if str(self.meta.get("author") or "").strip():
            parts.append(f"by {str(self.meta['author']).strip()}")
        return ", ".join(parts)


def make_document_id(title: str, text: str) -> str:
    digest = hashlib.sha256(f"{title}\0{text}".encode()).hexdigest()[:12]
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "document"
    return f"{slug}-{digest}"


def document_from_text(text: str, title: str = PASTED_TITLE, source: str = "", meta: dict | None = None) -> Document:
    """A document from text in memory; raises DocumentError when there is nothing to read."""
    title = repaired(title)
    if "\x00" in text:
        raise DocumentError(f"{title!r} looks like a binary file, not text")
    text = repaired(text).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise DocumentError(f"{title!r} is empty: there is no text to ask about")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise DocumentError(
            f"{title!r} has {len(text):,} characters; the limit is {MAX_DOCUMENT_CHARS:,}"
        )
    if not _WORD.search(text):
        raise DocumentError(f"{title!r} has no words in it: there is nothing to ask about")
    return Document(make_document_id(title, text), title, text, source, dict(meta or {}))


def html_to_text(html: str) -> tuple[str, str]:
    """(title, text) of an HTML page: block elements become paragraphs, table cells are spaced,
    scripts, styles and navigation go. The title is the page's <title>, else its first heading.

    >>> html_to_text("<title>T</title><p>One <b>two</b></p><table><tr><td>a</td><td>b</td></tr></table>")
    ('T', 'One two\\n\\na b')
    """
    import lxml.etree
    import lxml.html

    html = _XML_DECLARATION.sub("", html)  # lxml refuses str input that declares its own encoding
    if not html.strip():
        return "", ""
    try:
        root = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):  # "Document is empty": no elements at all
        return "", ""
    title = " ".join((root.findtext(".//title") or "").split())
    lxml.etree.strip_elements(root, lxml.etree.Comment, lxml.etree.ProcessingInstruction, with_tail=False)
    lxml.etree.strip_elements(root, *_NON_CONTENT_TAGS, with_tail=False)
    if not title:
        heading = next((h for h in root.iter(*_HEADINGS)), None)
        title = " ".join(heading.text_content().split()) if heading is not None else ""
    for table in list(root.iter("table")):
        _rows_as_sentences(table)
    # One pass, each element touched once: paragraph breaks around blocks, spaces around cells.
    for element in root.iter(lxml.etree.Element):
        tag = element.tag if isinstance(element.tag, str) else ""
        separator = "\n\n" if tag in _BLOCK_TAGS else " " if tag in _CELL_TAGS else ""
        if separator:
            element.text = separator + (element.text or "")
            element.tail = separator + (element.tail or "")
    raw = root.text_content()
    paragraphs = (" ".join(part.split()) for part in re.split(r"\n\s*\n", raw))
    return title, "\n\n".join(p for p in paragraphs if p)


def _rows_as_sentences(table) -> None:
    """A table with a header row read as sentences, a paragraph a row: each cell says its column and
    its row ("The Visitors for Tuesday is 95."), the row named by its first cell. Read as bare cells
    ("Tuesday 95"), as "Day: Tuesday; Visitors: 95." or as "Visitors for Tuesday is 95.", the
    reader answered "How many visitors came on Tuesday?" with another row's number; as these
    sentences, 4 of 4 questions on a test table right.
    Tables without a header row are left as they are."""
    rows = [row for row in table.iter("tr")]
    if len(rows) < 2 or not rows[0].findall("th") or rows[0].findall("td"):
        return
    names = [" ".join(cell.text_content().split()) for cell in rows[0] if cell.tag in _CELL_TAGS]
    for row in rows[1:]:
        cells = [" ".join(cell.text_content().split()) for cell in row if cell.tag in _CELL_TAGS]
        label = cells[0] if cells else ""
        sentences = [f"The {name or 'value'} for {label} is {value.rstrip('.')}." for name, value in zip(names[1:] + [""] * len(cells), cells[1:]) if value]
        for child in list(row):
            row.remove(child)
        row.text = " ".join(sentences) if sentences else (f"{label.rstrip('.')}." if label else "")
    rows[0].getparent().remove(rows[0])


def html_to_article(html: str) -> tuple[str, str, dict]:
    """(title, text, meta) of a saved news page: the article alone, without menus, share buttons,
    related stories or footers (trafilatura, the field's standard extractor: F1 0.95 on the
    article-extraction benchmark's dev half against 0.74 for the whole page, ``bench/extraction.py``),
    with what the page says of its author, date, site and url. A page where the extractor finds no
    article is read whole (``html_to_text``), and ``meta["note"]`` says so.

    >>> page = "<html><head><title>T</title></head><body><nav>Home | Sport</nav><article><h1>Storm</h1>"
    >>> page += "<p>The port of Valdora reopened on Tuesday after the storm closed it for four days.</p>"
    >>> page += "<p>Harbour master Elena Ruiz said 32 ships had waited offshore for the storm to pass.</p>"
    >>> page += "</article><footer>Contact us</footer></body></html>"
    >>> title, text, meta = html_to_article(page)
    >>> "Valdora" in text and "Contact us" not in text and "Home | Sport" not in text
    True
    """
    import lxml.etree
    import lxml.html
    import trafilatura

    html = _XML_DECLARATION.sub("", html)
    try:
        tree = lxml.html.document_fromstring(html) if html.strip() else None
    except (lxml.etree.ParserError, ValueError):
        tree = None
    found = None
    if tree is not None and sum(1 for _ in tree.iter()) <= MAX_EXTRACTED_ELEMENTS:
        try:
            found = trafilatura.bare_extraction(tree, with_metadata=True, include_comments=False, include_tables=True)
        except Exception:  # a page the extractor chokes on is still read, whole
            logger.warning("the article extractor failed on a page; reading it whole", exc_info=True)
    if found is None or len(found.text or "") < MIN_ARTICLE_CHARS:
        title, whole = html_to_text(html)
        return title, whole, {"note": "no article was found in the page: it is read whole"} if whole else {}
    meta = {name: str(value) for name in META_FIELDS if (value := getattr(found, name, None))}
    paragraphs = (" ".join(line.split()) for line in found.text.split("\n"))
    return found.title or html_to_text(html)[0], "\n\n".join(p for p in paragraphs if p), meta


def markdown_to_text(markdown: str) -> tuple[str, str]:
    """(title, text) of a Markdown article: rendered by a CommonMark parser (with GitHub's tables),
    then read as HTML; the title is its first heading.

    >>> markdown_to_text("# Visits\\n\\n| Day | Visitors |\\n|---|---|\\n| Monday | 120 |\\n| Tuesday | 95 |")
    ('Visits', 'Visits\\n\\nThe Visitors for Monday is 120.\\n\\nThe Visitors for Tuesday is 95.')
    """
    from markdown_it import MarkdownIt

    return html_to_text(MarkdownIt("commonmark").enable("table").render(markdown))


def decode_text(data: bytes, name: str) -> str:
    """The text of a file: UTF-8 or UTF-16 (with a BOM), else the legacy encoding a charset
    detector finds (cp1252, latin-1, Shift-JIS, ...); DocumentError for anything binary."""
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not utf16 and b"\x00" in data[:8192]:
        raise DocumentError(f"{name} looks like a binary file, not text")
    try:
        text = data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError:
        text = _decode_legacy(data, name)
    if len(_CONTROL.findall(text[:65536])) > MAX_CONTROL_SHARE * min(len(text), 65536):
        raise DocumentError(f"{name} looks like a binary file, not text")
    return text


def _decode_legacy(data: bytes, name: str) -> str:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise DocumentError(f"{name} is not text in any encoding I know: is it a binary file?")
    best = matches[0]
    # A short Western text decodes without a flaw in several code pages ("déjà" in cp1252 reads
    # as "déjŕ" in cp1250); among equally good ones take cp1252, the web's default (WHATWG).
    tied = [m for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence - 0.05]
    return str(next((m for m in tied if m.encoding == "cp1252"), best))


def document_from_bytes(data: bytes, name: str) -> Document:
    """A document from a file's name and content (.txt, .md, .html, .pdf or .docx)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{name}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if len(data) > MAX_FILE_BYTES:
        raise DocumentError(f"{name} is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}")
    title = Path(name).stem.replace("_", " ").replace("-", " ").strip() or name
    if suffix in PAGED_SUFFIXES:
        from qa.formats import read_paged

        found_title, text = read_paged(data, name, PAGED_SUFFIXES[suffix])
        if not found_title or _FILE_NAME_TITLE.search(found_title.strip()):
            found_title = headline(text) or ""
        return document_from_text(text, title=found_title or title, source=name)
    text = decode_text(data, name)
    meta: dict = {}
    if suffix in (".html", ".htm"):
        found_title, text, meta = html_to_article(text)
        title = found_title or title
    elif suffix in (".md", ".markdown"):
        found_title, text = markdown_to_text(text)
        title = found_title or title
    else:
        title = headline(text) or title
    return document_from_text(text, title=title, source=name, meta=meta)


def headline(text: str) -> str | None:
    """A plain-text article's first line when it reads as a headline: short, on a line of its own
    followed by a blank line, not ending as a sentence does.

    >>> headline("Ferry resumes after storm\\n\\nThe ferry sailed again on Tuesday."), headline("The ferry sailed.\\n\\nMore.")
    ('Ferry resumes after storm', None)
    """
    first, blank, _ = text.lstrip().partition("\n\n")
    first = first.strip()
    if not blank or "\n" in first or not 3 <= len(first) <= MAX_HEADLINE_CHARS or first[-1] in ".,;:":
        return None
    return first


def load_document(path: str | Path) -> Document:
    """Read a .txt, .md, .html, .pdf or .docx file."""
    path = Path(path)
    if path.is_dir():
        raise DocumentError(
            f"{path} is a folder: give one article's file, or index the folder as an archive "
            f"(qa index {path} --archive DIR) and ask that (--archive DIR)"
        )
    if not path.is_file():
        raise DocumentError(f"{path}: no such file")
    return document_from_bytes(path.read_bytes(), str(path))
