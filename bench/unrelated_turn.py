"""Does an unrelated earlier turn change an answer? Every question of DATA asked of its own article
twice: alone, and after one turn about something else (its question and gold answer): the first
question of the next article, or, for a file of one article, the next question of the same article.

    .venv/bin/python bench/unrelated_turn.py [--data ../shared/eval/nyt_news_dev.json.gz] [--reader DIR]

Prints F1 both ways, how many answers changed, and for unanswerable questions how many were
declined both ways.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import reader_arguments  # bench/, beside this script
from tqdm import tqdm

from qa.pipeline import Assistant
from qa.reader import Reader
from qa.training.end_to_end import article_document, gold_turn
from qa.training.squad import load_articles, score_predictions


def main() -> None:
    args = reader_arguments(__doc__)
    articles = load_articles(args.data)
    placed = [article_document(article) for article in articles]
    asked = []  # (question, its article's id, the unrelated turn)
    for number, (article, (document, offsets)) in enumerate(zip(articles, placed)):
        own = [(offset, q) for offset, (_, qs) in zip(offsets, article.paragraphs) for q in qs]
        if len(articles) > 1:
            other_article, (other_document, other_offsets) = articles[(number + 1) % len(articles)], placed[(number + 1) % len(articles)]
            others = [(o, q) for o, (_, qs) in zip(other_offsets, other_article.paragraphs) for q in qs if q.answerable][:1]
            others = others * len(own)
            other_id = other_document.id
        else:
            others = [own[(i + 1) % len(own)] for i in range(len(own))]
            other_id = document.id
        for (_, question), (offset, other) in zip(own, others):
            asked.append((question, document.id, gold_turn(other, offset, other_id)))
    predictions: dict[str, dict[str, str]] = {"alone": {}, "after an unrelated turn": {}}
    with tempfile.TemporaryDirectory() as scratch:
        assistant = Assistant(Path(scratch), reader=Reader(args.reader))
        for document, _ in placed:
            assistant.add(document)
        for question, document_id, turn in tqdm(asked, desc="asking", unit="q", mininterval=5):
            for mode, history in (("alone", []), ("after an unrelated turn", [turn])):
                predictions[mode][question.id] = assistant.ask(question.question, document_id, history=history).text
    questions = [question for question, _, _ in asked]
    for mode, answers in predictions.items():
        scores = score_predictions(questions, answers)
        declined = f"; unanswerable declined {scores.no_ans_exact:.0f}% (n={scores.no_ans_total})" if scores.no_ans_total else ""
        print(f"{mode:>24}: F1 {scores.f1:.2f}{declined}")
    changed = sum(predictions["alone"][q.id] != predictions["after an unrelated turn"][q.id] for q in questions)
    print(f"answers changed by the earlier turn: {changed} of {len(questions)}")


if __name__ == "__main__":
    main()
