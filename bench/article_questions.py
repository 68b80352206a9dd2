"""How well questions about the whole article are told from questions about a fact: the rules
alone, the classifier alone, and both as shipped (rules first), on held-aside phrasings
(``bench/data/article_questions_heldout_v2.json``, written by a helper who saw neither the rules,
the classifier nor their training phrasings) and on the span questions of the dev sets, none of
which should be taken for an article-level one.

    .venv/bin/python bench/article_questions.py [--shared ../shared] [--held-out FILE]
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

from qa.article_questions import KINDS, QuestionKinds, article_question_kind
from qa.embedding import Embedder
from qa.paths import SHARED_DIR
from qa.training.squad import load_questions

HELD_OUT = Path(__file__).parent / "data" / "article_questions_heldout_v2.json"
SPAN_SETS = ("nyt_news_dev.json.gz", "coqa_cnn_dev.json.gz", "squad2_dev_a.json.gz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED_DIR)
    parser.add_argument("--held-out", type=Path, default=HELD_OUT, help="phrasings with their kinds")
    args = parser.parse_args()
    embedder = Embedder()
    shipped = QuestionKinds(embedder.embed_query)
    classifier_only = QuestionKinds(embedder.embed_query)
    deciders = {
        "rules": article_question_kind,
        "classifier": classifier_only.classified,
        "rules, then classifier (shipped)": shipped.kind,
    }
    rows = json.loads(args.held_out.read_text())["questions"]
    print(f"held-aside phrasings: {len(rows)}")
    for name, decide in deciders.items():
        kinds = [decide(row["question"]) or "span" for row in rows]
        right = collections.Counter((row["kind"], right_kind(row["kind"], kind)) for row, kind in zip(rows, kinds))
        article = [row for row in rows if row["kind"] != "span"]
        recall = sum(1 for row, kind in zip(rows, kinds) if row["kind"] != "span" and right_kind(row["kind"], kind)) / len(article)
        taken = [(row, kind) for row, kind in zip(rows, kinds) if kind != "span"]
        precise = sum(1 for row, kind in taken if right_kind(row["kind"], kind)) / max(len(taken), 1)
        per_kind = ", ".join(f"{kind} {right[kind, True]}/{right[kind, True] + right[kind, False]}" for kind in (*KINDS[:7], "span"))
        print(f"\n{name}: article-level recall {recall:.1%}, precision {precise:.1%}\n  {per_kind}")
        for data in SPAN_SETS:
            path = args.shared / "eval" / data
            if not path.exists():
                print(f"  {data}: not here ({path})")
                continue
            questions = [q.question for q in load_questions(path)]
            taken = [(q, kind) for q in questions if (kind := decide(q))]
            print(f"  {data}: {len(taken)} of {len(questions)} span questions taken for article-level ({len(taken) / len(questions):.2%})")
            for question, kind in taken:
                print(f"      {kind}: {question!r}")


def right_kind(wanted: str, given: str) -> bool:
    """A summary of "these articles" is a summary too."""
    return given == wanted or wanted == "summary" and given == "archive_summary"


if __name__ == "__main__":
    main()
