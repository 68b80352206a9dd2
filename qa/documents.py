"""Loading articles: plain text, Markdown and HTML files, or pasted text.

>>> doc = document_from_text("INDUS-X launched.\\n", title="Seed")
>>> doc.title, doc.text
('Seed', 'INDUS-X launched.')
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from qa.errors import DocumentError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_DOCUMENT_CHARS = 2_000_000
# HTML elements whose text is not article text.
_NON_CONTENT_TAGS = ("script", "style", "noscript", "template", "head", "nav", "footer", "svg", "iframe")
_BLOCK_TAGS = (
    "p", "div", "section", "article", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "tr", "br", "header", "main", "figcaption", "dd", "dt",
)


@dataclass(frozen=True)
class Document:
    """An article: ``id`` is stable for the same title and text."""

    id: str
    title: str
    text: str
    source: str = ""


def make_document_id(title: str, text: str) -> str:
    digest = hashlib.sha256(f"{title}\0{text}".encode()).hexdigest()[:12]
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "document"
    return f"{slug}-{digest}"


def document_from_text(text: str, title: str = "Pasted article", source: str = "") -> Document:
    """A document from text in memory; raises DocumentError when there is nothing to read."""
    if "\x00" in text:
        raise DocumentError(f"{title!r} looks like a binary file, not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise DocumentError(f"{title!r} is empty: there is no text to ask about")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise DocumentError(
            f"{title!r} has {len(text):,} characters; the limit is {MAX_DOCUMENT_CHARS:,}"
        )
    return Document(make_document_id(title, text), title, text, source)


def html_to_text(html: str) -> tuple[str, str]:
    """(title, text) of an HTML page: block elements become paragraphs, scripts and styles go."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_NON_CONTENT_TAGS):
        tag.decompose()
    for tag in soup(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    raw = soup.get_text()
    paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", raw)]
    return title, "\n\n".join(p for p in paragraphs if p)


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (or UTF-16 with a BOM) text; DocumentError for anything binary."""
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not utf16 and b"\x00" in data[:8192]:
        raise DocumentError(f"{name} looks like a binary file, not text")
    encoding = "utf-16" if utf16 else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise DocumentError(
            f"{name} is not UTF-8 or UTF-16 text ({error.reason} at byte {error.start})"
        ) from None


def document_from_bytes(data: bytes, name: str) -> Document:
    """A document from a file's name and content (.txt, .md or .html)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{name}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if len(data) > 4 * MAX_DOCUMENT_CHARS:
        raise DocumentError(f"{name} is {len(data):,} bytes; the limit is {4 * MAX_DOCUMENT_CHARS:,}")
    text = decode_text(data, name)
    title = Path(name).stem.replace("_", " ").replace("-", " ").strip() or name
    if suffix in (".html", ".htm"):
        html_title, text = html_to_text(text)
        title = html_title or title
    return document_from_text(text, title=title, source=name)


def load_document(path: str | Path) -> Document:
    """Read a .txt, .md or .html file."""
    path = Path(path)
    if not path.is_file():
        raise DocumentError(f"{path}: no such file")
    return document_from_bytes(path.read_bytes(), str(path))
