"""SQuAD loading and the official EM/F1 semantics, against hand-computed figures."""

from __future__ import annotations

import pytest
from conftest import write_squad

from qa.text import normalize_answer
from qa.training.squad import f1_score, load_questions, score_predictions


def test_normalisation_follows_the_official_script():
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("an apple, a pear") == "apple pear"


def test_f1_by_hand():
    # pred tokens {in, paris, france}, gold {paris}: precision 1/3, recall 1 -> F1 = 0.5
    assert f1_score("in Paris France", "Paris") == pytest.approx(0.5)
    assert f1_score("", "") == 1.0
    assert f1_score("Paris", "") == 0.0


@pytest.mark.parametrize("name", ["small.json", "small.json.gz"])
def test_scores_by_hand(tmp_path, name):
    path = write_squad(
        tmp_path / name,
        [
            (
                "The Eiffel Tower is in Paris, France. It opened in 1889.",
                [
                    ("q1", "Where is the tower?", ["Paris", "Paris, France"]),
                    ("q2", "When did it open?", ["1889"]),
                    ("q3", "Who painted it?", []),
                    ("q4", "How tall is it?", []),
                ],
            )
        ],
    )
    questions = load_questions(path)
    assert [q.answerable for q in questions] == [True, True, False, False]
    predictions = {"q1": "in Paris", "q2": "1889", "q3": "", "q4": "Gustave"}
    scores = score_predictions(questions, predictions)
    # q1: EM 0; F1 max(2*(1/2*1)/(1/2+1)=2/3 vs "paris france": p=1/2 r=1/2 -> 1/2) = 2/3
    # q2: 1/1.  q3: abstained correctly 1/1.  q4: answered an unanswerable 0/0.
    assert scores.exact == pytest.approx(100 * 2 / 4)
    assert scores.f1 == pytest.approx(100 * (2 / 3 + 1 + 1 + 0) / 4)
    assert scores.has_ans_f1 == pytest.approx(100 * (2 / 3 + 1) / 2)
    assert scores.has_ans_exact == pytest.approx(50.0)
    assert scores.no_ans_exact == pytest.approx(50.0)
    assert (scores.total, scores.has_ans_total, scores.no_ans_total) == (4, 2, 2)


def test_squad_v1_files_load(tmp_path):
    path = write_squad(tmp_path / "v1.json", [("Rome is in Italy.", [("a", "Where is Rome?", ["Italy"])])], "1.1")
    (question,) = load_questions(path)
    assert question.answerable and question.answers == ("Italy",)
