"""Question latency while another visitor's large upload is indexed, against the same questions
with nothing being indexed, in one process as the server runs them (questions in this process,
ingestion in the worker process).

    .venv/bin/python bench/ingest_contention.py [--rows 20000] [--asks 60]

The upload is an HTML page of about 4 MB (a table of --rows rows, markup-heavy as real pages are,
about 1 M characters of text). Prints p50/p95 of the seed article's questions before and during
the indexing, and their ratio; the measurement counts only if the upload was still being indexed
when it ended.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from qa.ingest import Ingestor
from qa.library import seed_document
from qa.pipeline import Assistant
from qa.training.end_to_end import percentile

QUESTIONS = [
    "What does INDUS-X aim at?",
    "When did the US Defence Secretary arrive in New Delhi?",
    "What are India and the US exploring co-producing?",
    "Where was Austin accorded the guard of honour?",
]


def big_page(rows: int) -> bytes:
    body = "".join(
        f'<tr class="row {"even" if n % 2 else "odd"}" data-row="{n}"><td class="what"><span>Shipment {n} left '
        f'the port of Kochi on day {n % 365}.</span></td><td class="weight"><a href="/shipments/{n}">{n * 7} '
        f"tonnes</a></td></tr>"
        for n in range(rows)
    )
    return f"<html><head><title>Port ledger</title></head><body><table>{body}</table></body></html>".encode()


def latencies(assistant: Assistant, asks: int) -> list[float]:
    times = []
    for n in range(asks):
        start = time.perf_counter()
        assistant.ask(QUESTIONS[n % len(QUESTIONS)])
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--asks", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as index_dir:
        assistant = Assistant(index_dir)
        assistant.add(seed_document())
        latencies(assistant, 10)  # warm up
        quiet = latencies(assistant, args.asks)
        page = big_page(args.rows)
        ingestor = Ingestor(index_dir)
        job = ingestor.submit_file(page, "ledger.html")
        while job.done == 0 and not job.finished:  # until it is really embedding
            time.sleep(0.2)
        busy = latencies(assistant, args.asks)
        still_indexing = not job.finished
        progress = f"{job.done}/{job.total} passages ({job.state}{': ' + job.message if job.message else ''})"
        job.cancel()
        job.wait(60)
        ingestor.close()
    report = {
        "upload_bytes": len(page),
        "quiet": {"p50_ms": percentile(quiet, 50), "p95_ms": percentile(quiet, 95)},
        "while_indexing": {"p50_ms": percentile(busy, 50), "p95_ms": percentile(busy, 95)},
        "still_indexing_at_the_end": still_indexing,
        "indexed_when_measured": progress,
    }
    report["ratio_p50"] = report["while_indexing"]["p50_ms"] / report["quiet"]["p50_ms"]
    report["ratio_p95"] = report["while_indexing"]["p95_ms"] / report["quiet"]["p95_ms"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
