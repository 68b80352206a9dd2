"""Training the classifier of article-level questions (``qa.article_questions``): a logistic
regression over the question's sentence embedding, shipped as a few kilobytes of weights in
``qa/models/article-questions/``. The rules answer first; the classifier only where they find no
kind, so it adds the phrasings the rules' words miss ("Give me the CliffsNotes", "pub date?").

Training data: templated phrasings (``templated_phrasings``), the helper-written half of
``article_question_phrasings.json``, and span questions as the negative kind: 4,000 of SQuAD 1.1's
training questions and short conversational follow-ups ("Where?", "In which year?", "By whom?"),
which a conversation is full of and which must never be taken for questions about the article.

The regularisation and the probability a kind needs are chosen by 5-fold cross-validation on this
data: the most recall of article-level phrasings with at most 0.5% of span questions taken for one.

    qa train-article-questions          # writes qa/models/article-questions/
"""

from __future__ import annotations

import itertools
import json
import logging
import random
from pathlib import Path

import numpy as np

from qa.article_questions import CLASSIFIER_DIR, SPAN_KIND, article_question_kind
from qa.embedding import Embedder
from qa.training.squad import load_questions

logger = logging.getLogger(__name__)

PHRASINGS = Path(__file__).parent / "article_question_phrasings.json"
SQUAD_NEGATIVES = 4000
MAX_SPAN_FALSE_POSITIVES = 0.005
C_GRID = (1.0, 3.0, 10.0, 30.0)
THRESHOLD_GRID = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)

OPENERS = ["", "", "", "please ", "can you ", "could you please ", "ok, ", "and ", "so ", "now "]
REFERENCES = ["it", "this", "the article", "the story", "this piece", "the report", "the text", "this news", "the post"]
TEMPLATES = {
    "summary": [
        "what is {ref} about", "what's {ref} about", "summarize {ref}", "summarise {ref}", "give me a summary of {ref}",
        "tl;dr", "tldr of {ref}", "what is the gist of {ref}", "sum up {ref}", "an overview of {ref}",
        "explain {ref} briefly", "{ref} in a nutshell", "recap {ref}", "a short summary", "describe {ref}",
        "what is the main idea of {ref}", "tell me about {ref}", "what's the topic of {ref}", "summary",
        "a synopsis of {ref}", "what is {ref} about in one sentence",
    ],
    "main_points": [
        "what are the main points", "the key points of {ref}", "what are the key facts", "key takeaways",
        "the highlights of {ref}", "list the main points of {ref}", "what are the most important details",
        "main points", "give me the key facts of {ref}", "what are the takeaways from {ref}",
        "summarize the main points of {ref}", "the essentials of {ref}", "bullet points of {ref}",
        "what are the major points in {ref}",
    ],
    "people": [
        "who is mentioned in {ref}", "which people are mentioned", "who are the people in {ref}",
        "who is involved", "name the people in {ref}", "list the people mentioned in {ref}",
        "which persons appear in {ref}", "who are the key people", "the people named in {ref}",
        "who is quoted in {ref}", "who are the main characters of {ref}", "what people does {ref} mention",
    ],
    "organisations": [
        "which organisations are mentioned", "which organizations appear in {ref}", "what companies are mentioned in {ref}",
        "list the organisations in {ref}", "which agencies are named in {ref}", "the institutions mentioned in {ref}",
        "what groups does {ref} mention", "which companies are in {ref}", "organisations", "what firms are mentioned",
    ],
    "places": [
        "which places are mentioned", "what places does {ref} mention", "which countries are mentioned in {ref}",
        "list the places in {ref}", "where does {ref} take place", "what locations are in {ref}",
        "which cities appear in {ref}", "the places named in {ref}", "what countries are involved", "places",
    ],
    "date": [
        "when was {ref} written", "when was {ref} published", "what is the date of {ref}", "when was {ref} posted",
        "the publication date", "how old is {ref}", "what date was {ref} published", "date of {ref}",
        "when did {ref} come out", "when was {ref} released",
    ],
    "author": [
        "who wrote {ref}", "who is the author of {ref}", "who is {ref} by", "the author", "which reporter wrote {ref}",
        "who's the writer", "byline", "who are the authors of {ref}", "the author of {ref}", "who penned {ref}",
        "which journalist wrote {ref}",
    ],
}
CLOSERS = ["?", "?", "", " please", "?", "."]
# Short follow-ups of a conversation, about one fact: span questions however few their words.
_WH = ["where", "when", "who", "why", "how", "what", "which one", "how many", "how much", "how long", "how old",
       "what else", "anything else", "whom"]
_PREPOSITIONS = ["in", "by", "to", "with", "for", "from", "at", "on", "of", "about", "since", "until"]
_NOUNS = ["year", "city", "country", "state", "month", "team", "company", "place", "day", "town", "time", "one",
          "people", "person", "group", "club", "party", "school", "name", "title", "age", "reason", "way", "event",
          "game", "season", "region", "league"]
_EVENTS = ["did it happen", "did this happen", "was it", "was that", "is it", "did they go", "did he say",
           "did she go", "was this", "did that happen", "does it start", "did it end"]


def templated_phrasings(seed: int = 0, per_kind: int = 220) -> list[dict]:
    """Article-level phrasings from ``TEMPLATES`` crossed with openers, references and closers.

    >>> rows = templated_phrasings(per_kind=3)
    >>> len(rows), sorted({row["kind"] for row in rows})[:2]
    (21, ['author', 'date'])
    """
    rng = random.Random(seed)
    rows = []
    for kind, templates in TEMPLATES.items():
        made: set[str] = set()
        combinations = list(itertools.product(templates, OPENERS, REFERENCES, CLOSERS))
        rng.shuffle(combinations)
        for template, opener, reference, closer in combinations:
            question = (opener + template.format(ref=reference) + closer).strip()
            question = question[0].upper() + question[1:] if rng.random() < 0.7 else question
            if question.lower() not in made:
                made.add(question.lower())
                rows.append({"question": question, "kind": kind})
            if len(made) >= per_kind:
                break
    return rows


def follow_ups() -> list[str]:
    """Short conversational follow-ups about one fact ("Where?", "In which year?", "Name one other team.").

    >>> len(follow_ups()) > 500 and "in which year?" in follow_ups()
    True
    """
    made = set()
    for wh in _WH:
        made |= {f"{wh}?", f"and {wh}?", f"{wh} exactly?", f"{wh} specifically?"}
    for preposition, wh in itertools.product(_PREPOSITIONS, ["who", "whom", "what", "which", "where", "when", "how many"]):
        made.add(f"{preposition} {wh}?")
    for preposition, wh, noun in itertools.product(["in", "at", "for", "from", "by", "with", ""], ["which", "what"], _NOUNS):
        made.add(f"{preposition} {wh} {noun}?".strip())
    for noun in _NOUNS:
        made |= {f"name one {noun}.", f"name another {noun}.", f"what is his {noun}?", f"what is their {noun}?",
                 f"name three other {noun}s.", f"which other {noun}s?", f"any other {noun}s?", f"what {noun}s?"}
    for event, wh in itertools.product(_EVENTS, ["where", "when", "why", "how", "who", "what"]):
        made.add(f"{wh} {event}?")
    return sorted(made)


def training_rows(squad_path: Path, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    hand = json.loads(PHRASINGS.read_text())["questions"]
    squad = [q.question for q in rng.sample(load_questions(squad_path), SQUAD_NEGATIVES)]
    spans = [{"question": q, "kind": SPAN_KIND} for q in squad + follow_ups()]
    return templated_phrasings(seed) + hand + spans


def train(squad_path: Path, output_dir: Path = CLASSIFIER_DIR, embedder: Embedder | None = None) -> dict:
    """Fit the classifier on ``training_rows`` and write it to ``output_dir``; returns its card's figures."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    embedder = embedder or Embedder()
    rows = training_rows(squad_path)
    vectors = embedder.embed([row["question"] for row in rows], progress=True)
    kinds = np.array([row["kind"] for row in rows])
    # Where the rules already answer, the classifier is never asked: it is chosen on the rest.
    unruled = np.array([article_question_kind(row["question"]) is None for row in rows])
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    best = None
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=3000)
        probabilities = cross_val_predict(model, vectors, kinds, cv=folds, method="predict_proba")
        classes = np.array(sorted(set(kinds)))
        for threshold in THRESHOLD_GRID:
            predicted = _decide(probabilities, classes, threshold)
            spans = unruled & (kinds == SPAN_KIND)
            articles = unruled & (kinds != SPAN_KIND)
            false_positives = float(np.mean(predicted[spans] != SPAN_KIND))
            recall = float(np.mean(predicted[articles] == kinds[articles]))
            logger.info("C=%s threshold=%.2f: recall %.3f, span false positives %.4f", c, threshold, recall, false_positives)
            if false_positives <= MAX_SPAN_FALSE_POSITIVES and (best is None or recall > best["cv_recall"]):
                best = {"C": c, "threshold": threshold, "cv_recall": recall, "cv_span_false_positives": false_positives}
    if best is None:
        raise RuntimeError("no setting keeps span false positives under the limit")
    model = LogisticRegression(C=best["C"], max_iter=3000).fit(vectors, kinds)
    output_dir.mkdir(parents=True, exist_ok=True)
    np.savez(output_dir / "classifier.npz", coef=model.coef_.astype(np.float32), intercept=model.intercept_.astype(np.float32),
             classes=np.array(model.classes_))
    card = {**best, "embedder": embedder.id, "training_rows": len(rows),
            "rows_by_kind": {str(k): int(np.sum(kinds == k)) for k in sorted(set(kinds))}}
    (output_dir / "classifier.json").write_text(json.dumps(card, indent=1) + "\n")
    logger.info("wrote %s: %s", output_dir, card)
    return card


def _decide(probabilities: np.ndarray, classes: np.ndarray, threshold: float) -> np.ndarray:
    best = probabilities.argmax(axis=1)
    confident = probabilities[np.arange(len(best)), best] >= threshold
    return np.where(confident, classes[best], SPAN_KIND)
