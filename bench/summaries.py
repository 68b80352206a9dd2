"""What the summaries of ``qa.overview`` pick, on nyt_news_dev's articles: overlap with each
article's lead (its first three sentences) and with its most central sentences (LexRank over
sentence embeddings), against the lead-3 and LexRank-3 baselines in the same run; and what a summary
costs against a span answer.

    .venv/bin/python bench/summaries.py [--data ../shared/eval/nyt_news_dev.json.gz] [--read 20]

``--read N`` writes N summaries (every k-th article) to ``--read-file`` for a hand read.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from qa.answer import SUMMARY
from qa.article_questions import MAIN_POINTS
from qa.centrality import lexrank
from qa.paths import SHARED_DIR
from qa.pipeline import Assistant
from qa.training.end_to_end import article_document
from qa.training.squad import load_articles

WORD = re.compile(r"[^\W_]+")


def rouge1(candidate: str, reference: str) -> float:
    """Unigram F1 of two texts' words (lower-cased)."""
    a, b = WORD.findall(candidate.lower()), WORD.findall(reference.lower())
    common = sum(min(a.count(w), b.count(w)) for w in set(a))
    if not common:
        return 0.0
    precision, recall = common / len(a), common / len(b)
    return 2 * precision * recall / (precision + recall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DIR / "eval" / "nyt_news_dev.json.gz")
    parser.add_argument("--read", type=int, default=0)
    parser.add_argument("--read-file", type=Path, default=Path("summaries_to_read.json"))
    args = parser.parse_args()
    articles = load_articles(args.data)
    rows, to_read = [], []
    timings: dict[str, list[float]] = {"summary": [], "main points": [], "span": []}
    with tempfile.TemporaryDirectory() as folder:
        assistant = Assistant(Path(folder))
        for article in articles:
            document, _ = article_document(article)
            assistant.add(document)
            index = assistant.library.loaded(document.id).index
            sentences = [s.text for s in index.sentences]
            if len(sentences) < 4:
                continue
            span_question = article.paragraphs[0][1][0].question
            for name, question in (("summary", "What is this article about?"), ("main points", "What are the main points?"), ("span", span_question)):
                began = time.perf_counter()
                answer = assistant.ask(question, document.id)
                timings[name].append(time.perf_counter() - began)
                if name == "summary":
                    summary = answer
                elif name == "main points":
                    points = answer
            assert summary.kind == SUMMARY and points.kind == MAIN_POINTS
            ours = [sentences.index(c.text) for c in summary.citations]
            mine_points = [sentences.index(c.text) for c in points.citations]
            vectors = assistant.embedder.embed(sentences)
            central = sorted(np.argsort(-lexrank(vectors), kind="stable")[:3].tolist())
            lead = [0, 1, 2]
            text = lambda chosen, sentences=sentences: " ".join(sentences[i] for i in chosen)  # noqa: E731
            rows.append({
                "ours": ours, "points": mine_points, "lead": lead, "central": central,
                "scores": {
                    name: {
                        "lead sentences": len(set(chosen) & set(lead)) / len(chosen),
                        "central sentences": len(set(chosen) & set(central)) / len(chosen),
                        "ROUGE-1 with lead-3": rouge1(text(chosen), text(lead)),
                        "ROUGE-1 with LexRank-3": rouge1(text(chosen), text(central)),
                        "sentences": len(chosen),
                    }
                    for name, chosen in (("ours (summary)", ours), ("ours (main points)", mine_points), ("lead-3", lead), ("LexRank-3", central))
                },
            })
            to_read.append({"title": document.title, "article": document.text, "summary": summary.text})
    print(f"{len(rows)} articles of {args.data.name} (4 sentences or more)\n")
    metrics = list(rows[0]["scores"]["lead-3"])
    print("| summary | " + " | ".join(metrics) + " |")
    print("|---|" + "---|" * len(metrics))
    for name in rows[0]["scores"]:
        values = [statistics.mean(row["scores"][name][m] for row in rows) for m in metrics]
        print(f"| {name} | " + " | ".join(f"{v:.2f}" if m != "sentences" else f"{v:.1f}" for m, v in zip(metrics, values)) + " |")
    print()
    for name, seconds in timings.items():
        print(f"{name}: p50 {statistics.median(seconds) * 1000:.1f} ms over {len(seconds)} questions")
    if args.read:
        to_read = to_read[:: max(len(to_read) // args.read, 1)][: args.read]
        args.read_file.write_text(json.dumps(to_read, indent=1, ensure_ascii=False))
        print(f"\n{len(to_read)} summaries to read: {args.read_file}")


if __name__ == "__main__":
    main()
