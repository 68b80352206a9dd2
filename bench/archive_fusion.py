"""Archive retrieval by weighted scores against reciprocal rank, in one process, taking turns.

    .venv/bin/python bench/archive_fusion.py --archive DIR [--data FILE] [--questions 330]

DIR is a corpus built by ``qa eval DATA --across-articles --index-dir DIR`` from the same DATA
(default nyt_news_dev). Every k-th question of DATA is asked of the whole archive with each fusion
(``RetrievalSettings.archive_fusion``), the two taking turns question by question, which fusion
goes first alternating, so that both meet the same machine at the same moment. Prints, per fusion,
latency p50/p95 of ``Assistant.ask`` and the share answered from the right article, and the
weighted fusion's latencies as ratios to RRF's.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from archive_questions import archive_arguments, every_kth  # bench/, beside this script

from qa.pipeline import Assistant
from qa.retrieval import ARCHIVE_FUSIONS, ArchiveRetriever
from qa.training.evaluate import article_document
from qa.training.squad import load_articles


def main() -> None:
    args = archive_arguments(__doc__, questions=330)
    asked = [
        (question.question, article_document(article)[0].id)
        for article in load_articles(args.data)
        for _, questions in article.paragraphs
        for question in questions
    ]
    asked = every_kth(asked, args.questions)
    with tempfile.TemporaryDirectory() as scratch:
        assistant = Assistant(Path(scratch))
        archive = assistant.use_archive(args.archive)
        retrievers = {
            fusion: ArchiveRetriever(archive, assistant.embedder, replace(assistant.retrieval_settings, archive_fusion=fusion))
            for fusion in ARCHIVE_FUSIONS
        }
        for question, _ in asked[:10]:  # warm up the models and the archive's pages
            assistant.ask(question)
        seconds = {fusion: [] for fusion in ARCHIVE_FUSIONS}
        right = dict.fromkeys(ARCHIVE_FUSIONS, 0)
        for turn, (question, article_id) in enumerate(asked):
            for fusion in ARCHIVE_FUSIONS[turn % 2 :] + ARCHIVE_FUSIONS[: turn % 2]:
                assistant.archive_retriever = retrievers[fusion]
                start = time.perf_counter()
                answer = assistant.ask(question)
                seconds[fusion].append(time.perf_counter() - start)
                right[fusion] += answer.document_id == article_id
    percentiles = {fusion: np.percentile(np.array(times) * 1e3, [50, 95]) for fusion, times in seconds.items()}
    for fusion in ARCHIVE_FUSIONS:
        p50, p95 = percentiles[fusion]
        print(f"{fusion:>8}: p50 {p50:.1f} ms, p95 {p95:.1f} ms; right article {100 * right[fusion] / len(asked):.1f}% of {len(asked)} questions")
    ratio = percentiles["weighted"] / percentiles["rrf"]
    print(f"weighted / rrf: {ratio[0]:.2f}x at p50, {ratio[1]:.2f}x at p95")


if __name__ == "__main__":
    main()
