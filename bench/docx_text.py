"""Word (.docx) text libraries compared on files made here: the seed article and the first 20 article
bodies of the article-extraction benchmark, each written as a .docx with python-docx (a title, the
paragraphs, a running header and footer, and a two-row table), scored with the benchmark's metric
against the article text (the table's cells count as text to find). Each library: python-docx (what
``qa.formats`` reads with), docx2python, and mammoth to HTML then this project's HTML reading.

    .venv/bin/python bench/docx_text.py [--articles 20]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import statistics
import time
from pathlib import Path

from extraction import page_counts, scores  # bench/, beside this script

from qa.library import SEED_ARTICLE, SEED_TITLE
from qa.paths import SHARED_DIR

TABLE = [("Delegation", "Visit"), ("United States", "Monday")]


def make_docx(title: str, body: str) -> tuple[bytes, str]:
    """A .docx of ``body``'s paragraphs under ``title``, with a header, a footer and a table; and the
    text a reader should get from it."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    section = document.sections[0]
    section.header.paragraphs[0].text = "The Daily Courier - Monday edition"
    section.footer.paragraphs[0].text = "Copyright The Daily Courier. All rights reserved."
    document.add_heading(title, level=1)
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    for paragraph in paragraphs[: len(paragraphs) // 2]:
        document.add_paragraph(paragraph)
    table = document.add_table(rows=len(TABLE), cols=2)
    for row, cells in zip(table.rows, TABLE):
        for cell, text in zip(row.cells, cells):
            cell.text = text
    for paragraph in paragraphs[len(paragraphs) // 2 :]:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    halves = paragraphs[: len(paragraphs) // 2], paragraphs[len(paragraphs) // 2 :]
    truth = "\n".join([title, *halves[0], *(" ".join(row) for row in TABLE), *halves[1]])
    return out.getvalue(), truth


def with_python_docx(data: bytes) -> str:
    from qa.formats import read_paged

    return read_paged(data, "article.docx", "docx")[1]


def with_docx2python(data: bytes) -> str:
    from docx2python import docx2python

    with docx2python(io.BytesIO(data)) as content:
        return content.text


def with_mammoth(data: bytes) -> str:
    import mammoth

    from qa.documents import html_to_text

    return html_to_text(mammoth.convert_to_html(io.BytesIO(data)).value)[1]


LIBRARIES = {"python-docx": with_python_docx, "docx2python": with_docx2python, "mammoth": with_mammoth}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED_DIR / "eval" / "article_extraction_dev.json.gz")
    parser.add_argument("--articles", type=int, default=20)
    args = parser.parse_args()
    with gzip.open(args.data, "rt", encoding="utf-8") as handle:
        pages = json.load(handle)[: args.articles]
    seed = SEED_ARTICLE.read_text(encoding="utf-8").replace("\n\n", "\n")
    files = [make_docx(SEED_TITLE, seed)] + [make_docx(f"Article {n}", page["articleBody"]) for n, page in enumerate(pages)]
    for library, extract in LIBRARIES.items():
        counts, seconds = [], []
        for data, truth in files:
            began = time.perf_counter()
            text = extract(data)
            seconds.append(time.perf_counter() - began)
            counts.append(page_counts(truth, text))
        precision, recall, f1 = scores(counts)
        print(f"{library:12} F1 {f1:.3f} (P {precision:.3f}, R {recall:.3f}); {1000 * statistics.median(seconds):.0f} ms a file (median)")


if __name__ == "__main__":
    main()
