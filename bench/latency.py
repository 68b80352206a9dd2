"""Speed of the chatbot on the seed article, against a baseline run in the same process.

    .venv/bin/python bench/latency.py [--asks 150] [--json bench/results.json]

Measures:
- warm latency per question (p50/p95 over the dev questions asked in turn, >= 100 asks) of
  ``Assistant.ask`` and of the baseline: the transformers question-answering pipeline reading the
  whole article with the same reader weights (fp32, as our reader runs), plus F1 of both on
  indus_x_dev;
- cold start: a new process up to its first answer, index already on disk and index built fresh
  (median of 3);
- indexing throughput in sentences per second (median of 5 builds), on the seed article and on 20
  New York Times articles.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qa.embedding import Embedder
from qa.evaluate import article_document, percentile
from qa.index import IndexStore
from qa.paths import SHARED_DIR
from qa.pipeline import Assistant, seed_document
from qa.reader import DEFAULT_READER_DIR, Reader
from qa.squad import load_articles, load_questions, score_predictions

COLD_START = "from qa import ask; print(ask('What does INDUS-X aim at?').text)"


def timed(function, *args, **kwargs) -> tuple[float, object]:
    began = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - began, result


def latency_figures(seconds: list[float]) -> dict:
    return {"p50_ms": 1000 * percentile(seconds, 50), "p95_ms": 1000 * percentile(seconds, 95), "n": len(seconds)}


def warm_latency(asks: int) -> dict:
    dev = load_questions(SHARED_DIR / "eval" / "indus_x_dev.json")
    article = seed_document().text
    with tempfile.TemporaryDirectory() as index_dir:
        assistant = Assistant(index_dir)
        assistant.add(seed_document())
        assistant.ask(dev[0].question)  # warm: models loaded, index built

        import torch
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer, pipeline

        baseline = pipeline(
            "question-answering",
            model=AutoModelForQuestionAnswering.from_pretrained(DEFAULT_READER_DIR, dtype=torch.float32),
            tokenizer=AutoTokenizer.from_pretrained(DEFAULT_READER_DIR),
            device="cpu",
        )
        baseline(question=dev[0].question, context=article)

        max_answer_len = Reader().settings.max_answer_tokens
        ours, theirs = [], []
        our_predictions, their_predictions = {}, {}

        def ask_ours(question):
            seconds, answer = timed(assistant.ask, question.question)
            ours.append(seconds)
            our_predictions[question.id] = answer.text

        def ask_baseline(question):
            seconds, result = timed(
                baseline, question=question.question, context=article,
                handle_impossible_answer=True, max_answer_len=max_answer_len,
            )
            theirs.append(seconds)
            their_predictions[question.id] = result["answer"]

        for turn in range(asks):
            question = dev[turn % len(dev)]
            # Alternate who goes first so neither always runs on the warmer cache.
            first, second = (ask_ours, ask_baseline) if turn % 2 == 0 else (ask_baseline, ask_ours)
            first(question)
            second(question)
    our_f1 = score_predictions(dev, our_predictions).f1
    their_f1 = score_predictions(dev, their_predictions).f1
    return {
        "ours": {**latency_figures(ours), "f1_indus_x_dev": our_f1},
        "baseline_hf_pipeline_whole_article": {**latency_figures(theirs), "f1_indus_x_dev": their_f1},
        "speedup_p50": percentile(theirs, 50) / percentile(ours, 50),
        "speedup_p95": percentile(theirs, 95) / percentile(ours, 95),
    }


def cold_start(runs: int = 3) -> dict:
    figures = {}
    with tempfile.TemporaryDirectory() as kept:
        for label, fresh in (("index_on_disk", False), ("index_built", True)):
            seconds = []
            for _ in range(runs):
                index_dir = tempfile.mkdtemp() if fresh else kept
                env = {**os.environ, "QA_INDEX_DIR": index_dir, "HF_HUB_OFFLINE": "1"}
                elapsed, result = timed(
                    subprocess.run, [sys.executable, "-c", COLD_START], env=env, capture_output=True, text=True
                )
                if result.returncode != 0:
                    raise RuntimeError(result.stderr)
                seconds.append(elapsed)
            figures[label] = {"median_s": statistics.median(seconds), "runs": seconds}
    return figures


def indexing_throughput(builds: int = 5) -> dict:
    embedder = Embedder()
    nyt = load_articles(SHARED_DIR / "eval" / "nyt_news_dev.json.gz")[:20]
    corpora = {
        "seed_article": [seed_document()],
        "nyt_20_articles": [article_document(article)[0] for article in nyt],
    }
    embedder.embed(["warm up"])
    figures = {}
    for name, documents in corpora.items():
        rates = []
        for _ in range(builds):
            with tempfile.TemporaryDirectory() as index_dir:
                store = IndexStore(Path(index_dir), embedder)
                began = time.perf_counter()
                sentences = sum(len(store.build(d).sentences) for d in documents)
                rates.append(sentences / (time.perf_counter() - began))
        figures[name] = {"sentences": sentences, "median_sentences_per_s": statistics.median(rates)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--asks", type=int, default=150)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    results = {
        "warm": warm_latency(args.asks),
        "cold_start": cold_start(),
        "indexing": indexing_throughput(),
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
