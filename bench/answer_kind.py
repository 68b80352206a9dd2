"""Does a check at read time of the answer's kind help? For questions that ask for a number ("how
many", "how much", "what percentage", "what year", "how old", "how long"), a span without a number is
taken for no answer; the next best span that has one answers instead. Measured on SQuAD 2.0 dev A
with each question read in its own paragraph (the reader alone), against the same readings
unchecked, at the reader's calibrated threshold:

    .venv/bin/python bench/answer_kind.py [--data ../shared/eval/squad2_dev_a.json.gz] [--reader DIR]
"""

from __future__ import annotations

import re

from common import reader_arguments  # bench/, beside this script

from qa.paths import SHARED_DIR
from qa.reader import Reader
from qa.training.evaluate import paragraph_windows
from qa.training.squad import load_questions, reader_input, score_predictions

NUMBER_QUESTION = re.compile(
    r"\b(how (many|much|old|long|far|large|big|tall|high)|what (percentage|percent|year|number|amount)|"
    r"in what year|which year|what decade)\b",
    re.IGNORECASE,
)
NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|trillion|dozen|half|quarter|once|twice)\b",
    re.IGNORECASE,
)


def fits(question: str, answer: str) -> bool:
    """A number question's answer holds a number; any other question's answer fits."""
    return not NUMBER_QUESTION.search(question) or NUMBER.search(answer) is not None


def main() -> None:
    args = reader_arguments(__doc__, SHARED_DIR / "eval" / "squad2_dev_a.json.gz")
    reader = Reader(args.reader)
    threshold = reader.settings.no_answer_threshold
    questions = [q for q in load_questions(args.data) if NUMBER_QUESTION.search(q.question)]
    plain, checked = {}, {}
    for question in questions:
        spans = reader.read(reader_input(question), paragraph_windows(question.context), top_k=10)
        answers = [span for span in spans if span.margin > threshold]
        plain[question.id] = answers[0].text if answers else ""
        kept = [span for span in answers if fits(question.question, span.text)]
        checked[question.id] = kept[0].text if kept else ""
    print(f"{len(questions)} number questions of {args.data.name}, threshold {threshold:.3f} ({args.reader.name})")
    for name, predictions in (("unchecked", plain), ("checked", checked)):
        scores = score_predictions(questions, predictions)
        print(f"{name:>9}: F1 {scores.f1:.2f}  HasAns F1 {scores.has_ans_f1:.2f} (n={scores.has_ans_total})  "
              f"NoAns {scores.no_ans_exact:.2f}% (n={scores.no_ans_total})")


if __name__ == "__main__":
    main()
