"""PDF and Word (.docx) files as article text, read in a child process with bounded time and memory.

What these formats can hide — decompression bombs in a .docx (a zip) or in PDF streams, thousands of
pages, deeply nested objects, a parser crash in C — stays in the child: it is killed at
``READ_SECONDS`` or ``READ_MEMORY_BYTES`` and the user gets a sentence. The text comes out in
reading order as paragraphs; a PDF's running headers, footers and page numbers are dropped and words
hyphenated at a line's end are joined:

>>> line = lambda text, top, right=500: Line(text, 50, right, top, top - 10)
>>> pages = [[line("Daily Post", 780, 120), line("Talks in Delhi", 740, 200),
...           line("Austin met Singh and his officials on Mon-", 720), line("day in New Delhi.", 708, 220),
...           line("They spoke of engines and of", 696), line("artillery.", 684, 150), line("1", 30, 60)],
...          [line("Daily Post", 780, 120), line("They meet again next year.", 740, 300), line("2", 30, 60)]]
>>> pdf_paragraphs(pages)
['Talks in Delhi', 'Austin met Singh and his officials on Monday in New Delhi.', 'They spoke of engines and of artillery.', 'They meet again next year.']

The PDF library is PDFium (pypdfium2), chosen on printed news pages (``bench/pdf_text.py``).
"""

from __future__ import annotations

import io
import json
import logging
import re
import statistics
import subprocess
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass

from qa.errors import DocumentError

logger = logging.getLogger(__name__)

# A hostile file gets its sentence within this long (a 300-page report reads in about 3 s here).
READ_SECONDS = 10.0
# The child's address space: PDFium and a large document's text fit in a fraction of it.
READ_MEMORY_BYTES = 1536 * 1024 * 1024
MAX_PDF_PAGES = 2_000
# A .docx is a zip: what its parts may unpack to, in all and against their packed size. Real ones
# unpack 3-10x; a zip bomb, thousands of times.
MAX_DOCX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_DOCX_RATIO = 200
# A line on this share of pages, among their first or last lines (digits aside), is a running
# header or footer.
RUNNING_SHARE = 0.6
RUNNING_LINES = 2  # how far from a page's top or bottom running lines are looked for
SMALL_TYPE_SHARE = 0.85  # of the page's usual line height: a header's or footer's smaller type
_PAGE_NUMBER = re.compile(r"^\s*(page\s*)?\d{1,5}(\s*(/|of)\s*\d{1,5})?\s*$", re.IGNORECASE)
_HYPHENATED = re.compile(r"[^\W\d_]-$")
# A line inside a paragraph stops short of the text's right edge by less than the next line's
# first word; one stopping shorter ends its paragraph (its last line, a heading). A letter is about
# half as wide as its line is high; a page's last line ends a paragraph when it stops this share
# of the width short.
AVERAGE_LETTER_SHARE = 0.45
SHORT_LINE_SHARE = 0.12


@dataclass(frozen=True)
class Line:
    """A line of a PDF page's text and its box, in points from the page's bottom left."""

    text: str
    left: float
    right: float
    top: float
    bottom: float


def pdf_paragraphs(pages: list[list[Line]]) -> list[str]:
    """The paragraphs of a PDF's pages of lines (top to bottom): running headers and footers and
    page numbers dropped, lines joined into paragraphs, a word hyphenated across lines joined. A
    paragraph ends at a line stopping short of the right edge, or before a wider gap than lines have."""
    def shape(line: Line) -> str:
        return re.sub(r"\d+", "#", line.text.strip().lower())

    def edges(lines: list[Line]) -> list[Line]:  # the top and bottom lines, wherever the text order puts them
        by_height = sorted(lines, key=lambda line: -line.top)
        return by_height[:RUNNING_LINES] + by_height[RUNNING_LINES:][-RUNNING_LINES:]

    seen = Counter(shape(line) for lines in pages for line in {shape(line): line for line in edges(lines)}.values())
    running = {s for s, n in seen.items() if len(pages) >= 2 and n >= max(2, RUNNING_SHARE * len(pages))}
    paragraphs: list[str] = []
    current = ""
    for lines in pages:
        usual_height = statistics.median([line.top - line.bottom for line in lines]) if lines else 0.0
        # A single page has nothing to repeat: there, a top or bottom line in smaller type is its header or footer.
        small = {id(line) for line in edges(lines) if line.top - line.bottom < SMALL_TYPE_SHARE * usual_height}
        kept = [
            line for line in lines
            if shape(line) not in running and id(line) not in small and not _PAGE_NUMBER.match(line.text)
        ]
        if not kept:
            continue
        left, right = min(line.left for line in kept), max(line.right for line in kept)
        gaps = [above.bottom - below.top for above, below in zip(kept, kept[1:])]
        heights = [line.top - line.bottom for line in kept]
        usual_gap = statistics.median(gaps) if gaps else 0.0
        for number, line in enumerate(kept):
            text = line.text.strip()
            if current and _HYPHENATED.search(current) and text[:1].islower():
                current = current[:-1] + text
            else:
                current = f"{current} {text}" if current else text
            short = line.right < right - _room_needed(kept[number + 1] if number + 1 < len(kept) else None, right - left)
            spaced = number < len(gaps) and gaps[number] > usual_gap + 0.5 * statistics.median(heights)
            if short or spaced:
                paragraphs.append(current)
                current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def _room_needed(following: Line | None, width: float) -> float:
    """How far short of the right edge a line must stop to end its paragraph: further than the
    next line's first word would take (its letters about half as wide as its line is high), or,
    before no next line, a share of the width.

    >>> _room_needed(Line("defence innovation", 50, 300, 700, 680), width=500), _room_needed(None, width=500)
    (81.0, 60.0)
    """
    if following is None:
        return SHORT_LINE_SHARE * width
    word = following.text.split()[0]
    return (len(word) + 2) * AVERAGE_LETTER_SHARE * (following.top - following.bottom)


def _page_lines(textpage) -> list[Line]:
    """A PDFium text page's lines, in its reading order, each with the box of its first and last
    characters (PDFium's text has a character index per character, its line breaks included)."""
    text = textpage.get_text_range()
    lines, start = [], 0
    # PDFium marks a hyphen it takes for a line-end hyphenation with U+FFFE or U+0002.
    for raw in text.replace("\ufffe", "-").replace("\x02", "-").split("\r\n"):
        stripped = raw.strip()
        if stripped:
            first = start + len(raw) - len(raw.lstrip())
            last = start + len(raw.rstrip()) - 1
            # Loose boxes: the font's ascent to descent, the same for every letter of a size.
            left, first_bottom, _, first_top = textpage.get_charbox(first, loose=True)
            _, last_bottom, right, last_top = textpage.get_charbox(last, loose=True)
            lines.append(Line(stripped, left, right, max(first_top, last_top), min(first_bottom, last_bottom)))
        start += len(raw) + 2
    return lines


def _pdf_pages(data: bytes) -> tuple[str, list[list[Line]]]:
    """(title from the document's details, each page's text lines), in the child."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as error:
        message = str(error).lower()
        if "password" in message:
            raise DocumentError("it is encrypted: save an unlocked copy and try again") from None
        raise DocumentError("it is damaged or not a PDF") from None
    try:
        if len(document) > MAX_PDF_PAGES:
            raise DocumentError(f"it has {len(document):,} pages; the limit is {MAX_PDF_PAGES:,}")
        title = (document.get_metadata_dict().get("Title") or "").strip()
        return title, [_page_lines(document[number].get_textpage()) for number in range(len(document))]
    finally:
        document.close()


def _docx_paragraphs(data: bytes) -> tuple[str, list[str]]:
    """(title, paragraphs in reading order, each table row a paragraph), in the child."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise DocumentError("it is damaged or not a Word (.docx) file") from None
    unpacked = sum(part.file_size for part in parts)
    packed = max(1, sum(part.compress_size for part in parts))
    if unpacked > MAX_DOCX_UNPACKED_BYTES or unpacked / packed > MAX_DOCX_RATIO:
        raise DocumentError(f"it unpacks to {unpacked:,} bytes from {packed:,}: too much to be an article")
    if "word/document.xml" not in archive.namelist():
        raise DocumentError("it is damaged or not a Word (.docx) file: it has no document part")
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # python-docx names no error of its own for a broken package
        raise DocumentError("it is damaged: Word's document part cannot be read") from None
    paragraphs: list[str] = []
    title = (document.core_properties.title or "").strip()
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = list(dict.fromkeys(cell.text.strip() for cell in row.cells if cell.text.strip()))
                if cells:
                    paragraphs.append(" ".join(cell if cell[-1] in ".!?" else cell + "." for cell in cells))
            continue
        text = block.text.strip()
        if text:
            if not title and (block.style is not None and block.style.name in ("Title", "Heading 1")):
                title = text
            paragraphs.append(text)
    return title, paragraphs


def _child(kind: str) -> None:
    """The child process: the file on stdin, {"title", "text"} or {"error"} as JSON on stdout."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (READ_MEMORY_BYTES, READ_MEMORY_BYTES))
    data = sys.stdin.buffer.read()
    try:
        if kind == "pdf":
            title, pages = _pdf_pages(data)
            paragraphs = pdf_paragraphs(pages)
        else:
            title, paragraphs = _docx_paragraphs(data)
        result = {"title": title, "text": "\n\n".join(paragraphs)}
    except DocumentError as error:
        result = {"error": str(error)}
    except MemoryError:
        result = {"error": "it needs more memory to read than an article may take"}
    sys.stdout.write(json.dumps(result))


def read_paged(data: bytes, name: str, kind: str) -> tuple[str, str]:
    """(title, text) of the PDF (``kind`` "pdf") or Word file (``"docx"``) ``data``, read in a child
    process; a file that cannot be read, or has no text, raises DocumentError with the reason."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "qa.formats", kind], input=data, capture_output=True, timeout=READ_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise DocumentError(f"{name} took over {READ_SECONDS:.0f} s to read: it is too large or built to be slow") from None
    try:
        result = json.loads(done.stdout)
    except ValueError:
        logger.warning("reading %s failed (exit %s): %s", name, done.returncode, done.stderr.decode(errors="replace")[-2000:])
        raise DocumentError(f"{name} could not be read: it is damaged, or needs more memory than an article may take") from None
    if "error" in result:
        raise DocumentError(f"{name}: {result['error']}")
    if not result["text"].strip():
        reason = "a scan without a text layer (it holds images of pages only)" if kind == "pdf" else "empty"
        raise DocumentError(f"{name} has no text to ask about: it is {reason}")
    return result["title"], result["text"]


if __name__ == "__main__":
    _child(sys.argv[1])
