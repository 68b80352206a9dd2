"""Saved news pages read for their article: the article-extraction benchmark's metric (4-gram shingle
precision and recall per page, averaged over pages; Zyte's article-extraction-benchmark, MIT) for
this project's HTML reading (the article, ``qa.documents.html_to_article``), a plain text dump of
the whole page (``html_to_text``, what it read before) and the raw extractor (trafilatura), in one run.

    .venv/bin/python bench/extraction.py [--data ../shared/eval/article_extraction_dev.json.gz]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import time
from collections import Counter
from pathlib import Path

from qa.documents import document_from_text, html_to_article, html_to_text
from qa.errors import DocumentError
from qa.paths import SHARED_DIR

_TOKEN = re.compile(r"\w+")


def shingle_counts(text: str, n: int = 4) -> Counter:
    """The text's word 4-grams with their counts (a text shorter than n words: one shingle of all)."""
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def page_counts(truth: str, predicted: str) -> tuple[float, float, float]:
    """(true positives, false positives, false negatives) of the shingles, as shares of their sum:
    every page weighs the same whatever its length."""
    expected, found = shingle_counts(truth), shingle_counts(predicted)
    tp = sum((expected & found).values())
    fp, fn = sum((found - expected).values()), sum((expected - found).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def scores(counts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """(precision, recall, F1): precision and recall averaged over pages, F1 of the averages."""
    def ratio(tp: float, other: float, fp: float, fn: float) -> float:
        if fp == fn == 0:
            return 1.0
        return tp / (tp + other) if tp + other else 0.0

    precision = statistics.mean(ratio(tp, fp, fp, fn) for tp, fp, fn in counts if tp + fp > 0)
    recall = statistics.mean(ratio(tp, fn, fp, fn) for tp, fp, fn in counts if tp + fn > 0)
    return precision, recall, 2 * precision * recall / (precision + recall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED_DIR / "eval" / "article_extraction_dev.json.gz")
    args = parser.parse_args()
    with gzip.open(args.data, "rt", encoding="utf-8") as handle:
        pages = json.load(handle)

    def ours(html: str) -> str:
        title, text, meta = html_to_article(html)
        try:
            return document_from_text(text, title or "page", meta=meta).text
        except DocumentError:
            return ""  # refused: counted as an empty article

    def trafilatura_alone(html: str) -> str:
        import trafilatura

        return trafilatura.extract(html, include_comments=False, include_tables=True) or ""

    systems = {"article-qa (the article)": ours, "whole page (text dump)": lambda html: html_to_text(html)[1],
               "trafilatura alone": trafilatura_alone}
    print(f"{len(pages)} pages of {args.data.name}")
    for name, read in systems.items():
        counts, seconds, refused = [], [], 0
        for page in pages:
            began = time.perf_counter()
            text = read(page["html"])
            seconds.append(time.perf_counter() - began)
            refused += not text.strip()
            counts.append(page_counts(page["articleBody"], text))
        precision, recall, f1 = scores(counts)
        print(f"{name:<26} F1 {f1:.3f}  precision {precision:.3f}  recall {recall:.3f}  "
              f"refused {refused}  {1000 * statistics.median(seconds):.0f} ms a page (median)")


if __name__ == "__main__":
    main()
