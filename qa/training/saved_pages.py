"""Saved news pages end to end (``qa eval PROBE --pages PAGES``): each page's HTML goes in as a
user's file would (``Assistant.add_file``, through extraction), and its questions are asked of it
alone, as ``Assistant.ask`` answers them; scored with the SQuAD metric, as
``../shared/eval/scorers/saved_pages.py`` scores a set of this format.

The probe is ``{"pages": [{"id", "questions": [{"question", "answers", "is_impossible"}]}]}``; the
pages are ``[{"id", "html"}]`` (article_extraction_dev's format), matched by ``id``.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from qa.errors import DataError, QAError
from qa.training.end_to_end import reply
from qa.training.evaluate import Calibration, Outcome, outcome
from qa.training.squad import Question, Scores, score_predictions


@dataclass(frozen=True)
class SavedPagesReport:
    scores: Scores
    predictions: dict[str, str]
    outcomes: tuple[Outcome, ...]
    pages: int
    unread: tuple[str, ...]  # pages that could not be loaded (their questions count as declined), with why

    def summary(self) -> str:
        lines = [self.scores.summary(), Calibration.of(self.outcomes).summary(), f"{self.pages} pages"]
        lines += [f"not loaded: {why}" for why in self.unread]
        return "\n".join(lines)


def page_questions(probe: dict) -> list[tuple[str, list[Question]]]:
    """Each page's id and its questions (ids: the page id's first 16 characters and a number).

    >>> page_questions({"pages": [{"id": "p" * 20, "questions": [
    ...     {"question": "Who?", "answers": ["Ann"], "is_impossible": False},
    ...     {"question": "When?", "answers": [], "is_impossible": True}]}]})[0][1][1].id
    'pppppppppppppppp#1'
    """
    return [
        (page["id"], [
            Question(f"{page['id'][:16]}#{n}", q["question"], "", () if q["is_impossible"] else tuple(q["answers"]), (),
                     article=page["id"])
            for n, q in enumerate(page["questions"])
        ])
        for page in probe["pages"]
    ]


def load_probe(probe_path: Path, pages_path: Path) -> tuple[list[tuple[str, list[Question]]], dict[str, str]]:
    """The probe's questions by page and each page's HTML; DataError when a file is unreadable or
    a page of the probe is missing from the pages."""
    try:
        probe = json.loads(Path(probe_path).read_text(encoding="utf-8"))
        opener = gzip.open if Path(pages_path).suffix == ".gz" else open
        with opener(pages_path, "rt", encoding="utf-8") as handle:
            html = {page["id"]: page["html"] for page in json.load(handle)}
        questions = page_questions(probe)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"cannot read the saved-pages set: {error.__class__.__name__}: {error}") from None
    missing = [page for page, _ in questions if page not in html]
    if missing:
        raise DataError(f"{len(missing)} of the probe's pages are not in {pages_path} (first: {missing[0][:16]})")
    return questions, html


def evaluate_saved_pages(probe_path: Path, pages_path: Path, assistant, progress: bool = True) -> SavedPagesReport:
    """Load each page as a user's HTML file and ask its questions of it."""
    questions, html = load_probe(probe_path, pages_path)
    predictions: dict[str, str] = {}
    outcomes: list[Outcome] = []
    unread: list[str] = []
    total = sum(len(qs) for _, qs in questions)
    with tempfile.TemporaryDirectory(prefix="qa-eval-pages-") as scratch, \
            tqdm(total=total, desc="asking", unit="q", disable=not progress, mininterval=2) as bar:
        for page, asked in questions:
            path = Path(scratch) / f"{page[:16]}.html"
            path.write_text(html[page], encoding="utf-8")
            try:
                document_id = assistant.add_file(path).id
            except QAError as error:  # the user would be told why; its questions go unanswered
                unread.append(f"{page[:16]}: {error}")
                document_id = None
            for question in asked:
                if document_id is None:
                    predictions[question.id] = ""
                    outcomes.append(outcome(question, 0.0, False, ""))
                else:
                    reading, answer = reply(assistant, question.question, document_id)
                    given = answer.text if answer.answerable else ""
                    predictions[question.id] = given
                    declined = reading.best.text if reading.best else ""
                    outcomes.append(outcome(question, answer.score, answer.answerable, given or declined))
                bar.update(1)
    every = [q for _, qs in questions for q in qs]
    return SavedPagesReport(score_predictions(every, predictions), predictions, tuple(outcomes), len(questions), tuple(unread))
