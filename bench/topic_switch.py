"""A conversation over an archive that turns to another article: what the earlier turn costs.

    .venv/bin/python bench/topic_switch.py --archive DIR [--data FILE] [--questions 400]

DIR is a corpus built by ``qa eval DATA --across-articles --index-dir DIR`` from the same DATA
(default nyt_news_dev). Every k-th question of DATA is asked of the whole archive twice: alone, and
as the follow-up of one turn about another article (the next article's first question, with its
gold answer), which the conversation is then about (``qa.follow_ups.Resolution.article``). Prints,
for both, F1 and the share answered from the right article, and how often the follow-up was
answered from the earlier turn's article instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import archive_arguments, every_kth  # bench/, beside this script
from tqdm import tqdm

from qa.pipeline import Assistant
from qa.training.end_to_end import article_document, gold_turn
from qa.training.squad import load_articles, score_predictions


def main() -> None:
    args = archive_arguments(__doc__, questions=400)
    articles = load_articles(args.data)
    placed = [article_document(article) for article in articles]
    openers = []  # each article's first answerable question, as a turn with its gold answer
    for article, (document, offsets) in zip(articles, placed):
        offset, question = next(
            (offset, q) for offset, (_, qs) in zip(offsets, article.paragraphs) for q in qs if q.answerable
        )
        openers.append(gold_turn(question, offset, document.id))
    asked = [
        (question, number)
        for number, article in enumerate(articles)
        for _, questions in article.paragraphs
        for question in questions
    ]
    asked = every_kth(asked, args.questions)
    predictions: dict[str, dict[str, str]] = {"alone": {}, "after another article": {}}
    right = dict.fromkeys(predictions, 0)
    taken = 0
    with tempfile.TemporaryDirectory() as scratch:
        assistant = Assistant(Path(scratch))
        assistant.use_archive(args.archive)
        for question, number in tqdm(asked, desc="asking", unit="q"):
            own_id = placed[number][0].id
            earlier = openers[(number + 1) % len(articles)]
            for mode, history in (("alone", []), ("after another article", [earlier])):
                answer = assistant.ask(question.question, history=history)
                predictions[mode][question.id] = answer.text
                right[mode] += answer.document_id == own_id
                taken += mode != "alone" and answer.document_id == earlier.document_id
    questions = [question for question, _ in asked]
    for mode, answers in predictions.items():
        f1 = score_predictions(questions, answers).f1
        print(f"{mode:>22}: F1 {f1:.2f}; right article {100 * right[mode] / len(asked):.1f}% of {len(asked)} questions")
    print(f"answered from the earlier turn's article: {100 * taken / len(asked):.1f}%")


if __name__ == "__main__":
    main()
