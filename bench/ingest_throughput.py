"""Archive ingestion throughput (sentences embedded per second, end to end: segment, embed, write
shards, merge), in this process and on a local Ray with 1 and 2 workers, on the same articles.

    .venv/bin/python bench/ingest_throughput.py [--documents 1500] [--runs 3] [--data FILE]

The articles are the first --documents paragraphs of a SQuAD-format file (default: SQuAD 1.1
train, the distractors of ``qa eval --across-articles``), each a document of its own. Each run
builds a fresh archive. Prints the median over --runs of each way, and the Ray ways' ratios to the
in-process one; Ray's start-up (once per process) is outside the timings, as a long-running
cluster's would be.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
from pathlib import Path

from qa.archive_ingest import ingest
from qa.embedding import Embedder
from qa.paths import SHARED_DIR
from qa.training.end_to_end import distractor_documents
from qa.training.squad import load_articles

DEFAULT_DATA = SHARED_DIR / "data" / "squad1_train.json.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    documents = distractor_documents(load_articles(args.data))[: args.documents]
    embedder = Embedder()
    embedder.embed(["warm up"])

    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    ways = {"in process (2 threads)": 0, "Ray, 1 worker": 1, "Ray, 2 workers": 2}
    rates: dict[str, list[float]] = {name: [] for name in ways}
    sentences = 0
    for run in range(args.runs):
        for name, workers in ways.items():
            with tempfile.TemporaryDirectory() as root:
                report = ingest(documents, root, workers=workers, embedder=embedder, progress=False)
            rates[name].append(report.sentences_per_second)
            sentences = report.sentences
            print(f"run {run + 1} {name}: {report.sentences_per_second:.0f} sentences/s ({report.seconds:.1f} s)", flush=True)
    ray.shutdown()
    print(f"\n{len(documents)} documents, {sentences} sentences; medians of {args.runs} runs:")
    baseline = statistics.median(rates["in process (2 threads)"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:24} {median:6.0f} sentences/s  ({median / baseline:.2f}x in process)")


if __name__ == "__main__":
    main()
