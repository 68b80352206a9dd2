"""PDF text libraries compared on real PDFs: the article-extraction benchmark's saved news pages
printed to PDF by chromium (headers, footers and page numbers included, as a browser prints them),
scored with the benchmark's metric against each page's article body; and the seed article printed
the same way, against its text. Each library's plain text, and this project's reading of a PDF
(``qa.formats.read_paged``: headers, footers and page numbers dropped, hyphens at line ends joined).

    .venv/bin/python bench/pdf_text.py [--pages 40] [--libraries pypdf pdfminer pypdfium2 ours]

Needs Debian's chromium; the printed PDFs are kept in ~/.cache/article-qa/bench-pdfs/.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from extraction import page_counts, scores  # bench/, beside this script

from qa.library import SEED_ARTICLE, SEED_TITLE
from qa.paths import SHARED_DIR

CACHE = Path.home() / ".cache" / "article-qa" / "bench-pdfs"


def print_to_pdf(html_text: str, pdf: Path) -> bool:
    """``html_text`` printed by headless chromium, with its header and
    footer (date, title, URL, page numbers), no network; False when chromium gave up."""
    if pdf.exists():
        return pdf.stat().st_size > 0
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "page.html"
        page.write_text(html_text, encoding="utf-8")
        try:
            subprocess.run(
                ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                 "--virtual-time-budget=3000", f"--print-to-pdf={pdf}", page.as_uri()],
                capture_output=True, timeout=60, check=False,
            )
        except subprocess.TimeoutExpired:
            pass
    if not pdf.exists():
        pdf.write_bytes(b"")
    return pdf.stat().st_size > 0


def with_pypdf(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def with_pdfminer(data: bytes) -> str:
    import io

    from pdfminer.high_level import extract_text

    return extract_text(io.BytesIO(data))


def with_pypdfium2(data: bytes) -> str:
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        return "\n".join(document[n].get_textpage().get_text_range() for n in range(len(document)))
    finally:
        document.close()


def with_ours(data: bytes) -> str:
    from qa.formats import read_paged

    return read_paged(data, "page.pdf", "pdf")[1]


LIBRARIES = {"pypdf": with_pypdf, "pdfminer": with_pdfminer, "pypdfium2": with_pypdfium2, "ours": with_ours}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED_DIR / "eval" / "article_extraction_dev.json.gz")
    parser.add_argument("--pages", type=int, default=40, help="the first N pages of the benchmark")
    parser.add_argument("--libraries", nargs="+", choices=list(LIBRARIES), default=list(LIBRARIES))
    args = parser.parse_args()
    with gzip.open(args.data, "rt", encoding="utf-8") as handle:
        pages = json.load(handle)[: args.pages]
    CACHE.mkdir(parents=True, exist_ok=True)
    seed = SEED_ARTICLE.read_text(encoding="utf-8")
    seed_html = f"<html><head><title>{html.escape(SEED_TITLE)}</title></head><body>" + "".join(
        f"<p>{html.escape(p)}</p>" for p in seed.split("\n\n") if p.strip()
    ) + "</body></html>"
    cases = [("seed article", CACHE / "seed.pdf", seed_html, seed)]
    cases += [(page["id"], CACHE / f"{page['id']}.pdf", page["html"], page["articleBody"]) for page in pages]
    printed = [(name, pdf, truth) for name, pdf, html_text, truth in cases if print_to_pdf(html_text, pdf)]
    print(f"{len(printed)} of {len(cases)} printed to PDF")
    for library in args.libraries:
        extract = LIBRARIES[library]
        counts, seconds, failed = [], [], 0
        for name, pdf, truth in printed:
            data = pdf.read_bytes()
            began = time.perf_counter()
            try:
                text = extract(data)
            except Exception as error:  # a library that fails on a real file is a finding
                failed += 1
                print(f"  {library} failed on {name}: {error.__class__.__name__}: {error}")
                text = ""
            seconds.append(time.perf_counter() - began)
            counts.append(page_counts(truth, text))
        precision, recall, f1 = scores(counts[1:])
        seed_p, seed_r, seed_f1 = scores(counts[:1])
        print(
            f"{library:10} benchmark pages: F1 {f1:.3f} (P {precision:.3f}, R {recall:.3f}); seed article: F1 {seed_f1:.3f} "
            f"(P {seed_p:.3f}, R {seed_r:.3f}); {1000 * statistics.median(seconds):.0f} ms a file (median); {failed} failed"
        )


if __name__ == "__main__":
    main()
