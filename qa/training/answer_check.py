"""Training the answer check (``qa train-answer-check``; the runtime is ``qa.answer_check``).

Each question of a SQuAD-format set is asked of its whole article through the assistant, as a user
asks it; the reading's ``qa.answer_check.features`` and whether its best span is right (an
answerable question, F1 >= 0.5 against a gold answer, as ``scorers/saved_pages.py`` counts a reply
right) make one example. A logistic regression is fitted on the training split; an isotonic map of
its score onto the share right, and the abstention threshold on that probability (the one of best
SQuAD 2.0 F1), are fitted on the calibration split, kept apart from both the training and the
measuring articles (``qa split-squad2-dev``); both weight the unanswerable questions to the share
users are expected to ask (``fit``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qa.answer_check import CHECK_FILE, FEATURES
from qa.training.end_to_end import article_document
from qa.training.evaluate import RIGHT_F1
from qa.training.export import EXPECTED_UNANSWERABLE_SHARE
from qa.training.squad import Article, f1_score

logger = logging.getLogger(__name__)

REGULARISATION_C = 1.0  # scikit-learn's C: the features are few and standardised


@dataclass(frozen=True)
class Examples:
    """Feature rows, whether each best span is right, its F1, and whether its question is answerable."""

    rows: np.ndarray
    right: np.ndarray
    f1: np.ndarray
    answerable: np.ndarray

    def save(self, path: Path) -> None:
        np.savez_compressed(path, rows=self.rows, right=self.right, f1=self.f1, answerable=self.answerable)

    @classmethod
    def load(cls, path: Path) -> Examples:
        data = np.load(path)
        return cls(data["rows"], data["right"], data["f1"], data["answerable"])


def collect(articles: list[Article], assistant, progress: bool = True) -> Examples:
    """Ask every question of ``articles`` of its article through ``assistant`` and record the check's
    features of each reading (a question nothing was read for has no span to check: left out)."""
    rows, right, f1s, answerable = [], [], [], []
    total = sum(len(questions) for article in articles for _, questions in article.paragraphs)
    with tqdm(total=total, desc="reading", unit="q", disable=not progress, mininterval=2) as bar:
        for article in articles:
            document, _ = article_document(article)
            assistant.add(document)
            for _, questions in article.paragraphs:
                for question in questions:
                    bar.update(1)
                    reading = assistant.read(question.question, document.id)
                    if not reading.spans:
                        continue
                    best = reading.best.text
                    f1 = max((f1_score(best, gold) for gold in question.answers), default=0.0)
                    rows.append(assistant.check_features(reading))
                    f1s.append(f1)
                    right.append(question.answerable and f1 >= RIGHT_F1)
                    answerable.append(question.answerable)
    return Examples(np.asarray(rows, dtype=float), np.asarray(right, dtype=bool), np.asarray(f1s), np.asarray(answerable, dtype=bool))


def share_weights(examples: Examples, unanswerable_share: float) -> np.ndarray:
    """Weights that make the unanswerable questions ``unanswerable_share`` of ``examples``."""
    unanswerable = ~examples.answerable
    if not unanswerable.any() or unanswerable.all():
        return np.ones(len(unanswerable))
    return np.where(unanswerable, unanswerable_share / unanswerable.mean(), (1 - unanswerable_share) / (1 - unanswerable.mean()))


def squad2_f1(probability: np.ndarray, examples: Examples, threshold: float, weights: np.ndarray | None = None) -> float:
    """SQuAD 2.0's F1 over ``examples`` answering where ``probability >= threshold``: an answer
    scores its F1 (0 for an unanswerable question), an abstention 1 for an unanswerable one."""
    answered = probability >= threshold
    scores = np.where(answered, np.where(examples.answerable, examples.f1, 0.0), ~examples.answerable)
    return float(np.average(scores, weights=weights))


def fit(train: Examples, calibrate: Examples, unanswerable_share: float = EXPECTED_UNANSWERABLE_SHARE) -> dict:
    """The check's card: the regression's weights (on standardised features), the isotonic map of
    its score onto the share right, and the threshold of best SQuAD 2.0 F1 on ``calibrate``; each
    with the unanswerable questions weighted to ``unanswerable_share`` of the total, the mix users
    are expected to ask, as the reader's own threshold is (squad2_dev_a is half unanswerable: fitted
    to that mix, the check abstained on 46% of nyt_news_dev's answerable questions)."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    mean, scale = train.rows.mean(axis=0), train.rows.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=REGULARISATION_C, max_iter=2000)
    model.fit((train.rows - mean) / scale, train.right, sample_weight=share_weights(train, unanswerable_share))
    raw = ((calibrate.rows - mean) / scale) @ model.coef_[0] + model.intercept_[0]
    weights = share_weights(calibrate, unanswerable_share)
    curve = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, calibrate.right, sample_weight=weights)
    probability = curve.predict(raw)
    threshold = float(max(np.unique(probability), key=lambda t: squad2_f1(probability, calibrate, t, weights)))
    return {
        "features": list(FEATURES),
        "mean": mean.tolist(), "scale": scale.tolist(),
        "coef": model.coef_[0].tolist(), "intercept": float(model.intercept_[0]),
        "calibration": {"x": curve.X_thresholds_.tolist(), "y": curve.y_thresholds_.tolist()},
        "threshold": threshold,
        "unanswerable_share": unanswerable_share,
        "calibration_f1": squad2_f1(probability, calibrate, threshold, weights),
    }


def write_card(card: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CHECK_FILE
    path.write_text(json.dumps(card, indent=1) + "\n")
    return path
