"""Conversations to train on, made from SQuAD 1.1 (there is no conversational training set here).

A paragraph's questions, in their order, are a conversation: each earlier question with its gold
answer is a turn a chat would have shown. A later question that names again what the previous turn
named becomes a follow-up, the way people ask them:

- ``pronoun``: the name replaced by the pronoun a reader would use: "When did Beyoncé leave Destiny's
  Child?" after "Who did Beyoncé leave in 2005?" → "When did she leave Destiny's Child?" (a person
  is "he" or "she" as the paragraph calls them, an organisation or a thing "it", a people "they",
  a place after "in" / "at" "there"; a possessive "his", "her", "its", "their").
- ``ellipsis``: a question that repeats the previous one but for one short part → "What about X?" /
  "And X?" ("How many people live in Paris?" then "How many people live in Lyon?" → "And Lyon?").

Each follow-up keeps its original answer, and the reader reads it with the previous turns as
history, through ``qa.follow_ups.reader_question``: exactly what the runtime gives it. Generated
unanswerable questions (``qa.training.unanswerable``) become follow-ups the same way, so that a
follow-up learns "the article doesn't say" too:

    qa generate-conversations --output-dir DIR [--unanswerable DIR/unanswerable/train.json.gz]
"""

from __future__ import annotations

import difflib
import gzip
import json
import logging
import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from qa.training.squad import SQUAD1_TRAIN, Question, load_articles
from qa.training.unanswerable import occurs

logger = logging.getLogger(__name__)

# Turns of history a follow-up carries (the newest first in the reader's input): the previous turn
# names what it refers to; the one before is context a chat would show too.
HISTORY_TURNS = 2
PRONOUN_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "WORK_OF_ART", "LAW", "PRODUCT"}
)
_OBJECT_DEPS = frozenset({"dobj", "pobj", "dative", "iobj", "attr", "oprd"})
_PLACE_PREPOSITIONS = frozenset({"in", "at"})
# A name that modifies a noun ("the *English* Chief Justice", "the *Marshall Islands* legislature")
# has no pronoun that keeps the question English.
_MODIFIER_DEPS = frozenset({"compound", "amod", "nmod", "npadvmod", "appos", "poss"})
_HE = re.compile(r"\b(he|him|his|himself)\b", re.IGNORECASE)
_SHE = re.compile(r"\b(she|her|hers|herself)\b", re.IGNORECASE)


@dataclass(frozen=True)
class FollowUp:
    """A question rewritten to lean on its ``history`` (oldest turn first, (question, answer))."""

    question: str
    history: tuple[tuple[str, str], ...]
    kind: str  # "pronoun" or "ellipsis"
    change: str  # e.g. "Beyoncé -> she"
    source: Question


def person_pronouns(paragraph: str) -> tuple[str, str, str] | None:
    """(subject, object, possessive) for a person the paragraph speaks of, by the pronouns it uses
    most; None when it uses neither "he" nor "she" (no guess at a gender the text doesn't give).

    >>> person_pronouns("She sang. Her album sold; he bought it.")
    ('she', 'her', 'her')
    >>> person_pronouns("The band played.") is None
    True
    """
    he, she = len(_HE.findall(paragraph)), len(_SHE.findall(paragraph))
    if he == she:
        return None
    return ("he", "him", "his") if he > she else ("she", "her", "her")


def pronoun_for(label: str, dep: str, preposition: str | None, possessive: bool, paragraph: str) -> str | None:
    """The pronoun that stands for an entity of spaCy ``label`` in its place in the question.

    >>> pronoun_for("ORG", "nsubj", None, False, ""), pronoun_for("GPE", "pobj", "in", False, "")
    ('it', 'there')
    >>> pronoun_for("NORP", "pobj", "of", True, "")
    'their'
    """
    if label == "PERSON":
        forms = person_pronouns(paragraph)
        if forms is None:
            return None
        subject, object_, possessive_form = forms
        return possessive_form if possessive else object_ if dep in _OBJECT_DEPS else subject
    if label == "NORP":
        return "their" if possessive else "them" if dep in _OBJECT_DEPS else "they"
    if possessive:
        return "its"
    if label in ("GPE", "LOC", "FAC") and preposition in _PLACE_PREPOSITIONS:
        return "there"
    return "it"


def _named_before(text: str, history: tuple[tuple[str, str], ...]) -> bool:
    """Whether the previous turn (its question or its answer) names ``text``."""
    question, answer = history[-1]
    return occurs(text, question) or occurs(text, answer)


def _pronoun_class(label: str) -> str:
    return {"PERSON": "person", "NORP": "they"}.get(label, "it")


def _ambiguous(entity, previous_turn) -> bool:
    """Whether the previous turn (its question and answer, parsed) names another entity the same
    pronoun could stand for: "he" after a turn naming two people.

    >>> from types import SimpleNamespace as E
    >>> turn = E(ents=[E(text="Beyoncé", label_="PERSON"), E(text="Jay Z", label_="PERSON")])
    >>> _ambiguous(E(text="Beyoncé", label_="PERSON"), turn), _ambiguous(E(text="Paris", label_="GPE"), turn)
    (True, False)
    """
    kind, name = _pronoun_class(entity.label_), entity.text.lower()
    return any(
        _pronoun_class(other.label_) == kind and other.text.lower() not in name and name not in other.text.lower()
        for other in previous_turn.ents
        if other.label_ in PRONOUN_LABELS
    )


def _inside_a_longer_name(doc, entity) -> bool:
    """Whether the entity is part of a longer name or compound ("Clinton v. Maryland", "German-born")."""
    before = doc[entity.start - 1] if entity.start > 0 else None
    after = doc[entity.end] if entity.end < len(doc) else None
    return (
        (before is not None and (before.text in ("-", "v.", "vs.") or before.is_title and before.i > 0 and before.tag_ == "NNP"))
        or (after is not None and (after.text == "-" or after.tag_ == "NNP" or after.whitespace_ == "" and after.text[:1].isalnum()))
    )


def pronoun_follow_up(
    source: Question, doc, history: tuple[tuple[str, str], ...], previous_turn
) -> FollowUp | None:
    """The first entity of the question (``doc``) that the previous turn (``previous_turn``, its
    question and answer parsed) named alone among the things its pronoun could stand for, replaced
    by that pronoun."""
    for entity in doc.ents:
        if entity.label_ not in PRONOUN_LABELS or not _named_before(entity.text, history):
            continue
        if any(occurs(entity.text, answer) for answer in source.answers):
            continue  # the follow-up would ask for what it names
        start, end = entity.start_char, entity.end_char
        following = doc[entity.end] if entity.end < len(doc) else None
        possessive = following is not None and following.text in ("'s", "’s", "'")
        if possessive:
            end = following.idx + len(following.text)
        if entity.root.dep_ in _MODIFIER_DEPS and not possessive or _inside_a_longer_name(doc, entity):
            continue
        if _ambiguous(entity, previous_turn):
            continue  # "he" could be either of two people the previous turn named
        head = entity.root.head
        preposition = head.lower_ if entity.root.dep_ == "pobj" else None
        pronoun = pronoun_for(entity.label_, entity.root.dep_, preposition, possessive, source.context)
        if pronoun is None:
            continue
        if pronoun == "there" and preposition is not None and head.i == entity.start - 1:
            start = head.idx  # "in Paris" -> "there"
        before = source.question[:start]
        if not before.strip():
            pronoun = pronoun.capitalize()
        # A leading article of the name ("the United Nations" -> "it", not "the it").
        before = re.sub(r"\b(the|The)\s+$", "", before)
        question = before + pronoun + source.question[end:]
        return FollowUp(question, history, "pronoun", f"{source.question[start:end]} -> {pronoun}", source)
    return None


def ellipsis_follow_up(source: Question, history: tuple[tuple[str, str], ...], rng: random.Random) -> FollowUp | None:
    """"What about X?" when the question repeats the previous one but for one short part X.

    >>> q = Question("2", "How many people live in Lyon?", "", ("500,000",), (0,), "")
    >>> ellipsis_follow_up(q, (("How many people live in Paris?", "2 million"),), random.Random(1)).question
    'What about Lyon?'
    """
    previous = history[-1][0].rstrip(" ?").split()
    words = source.question.rstrip(" ?").split()
    matcher = difflib.SequenceMatcher(a=[w.lower() for w in previous], b=[w.lower() for w in words], autojunk=False)
    changed = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if len(changed) != 1 or changed[0][0] != "replace":
        return None
    _, a_first, a_last, b_first, b_last = changed[0]
    kept = len(words) - (b_last - b_first)
    if not (1 <= b_last - b_first <= 5 and a_last - a_first <= 5 and kept >= 3 and kept >= len(words) / 2):
        return None
    part = " ".join(words[b_first:b_last]).strip(",;:")
    replaced = " ".join(previous[a_first:a_last])
    # Names and numbers for names and numbers ("Paris" -> "Lyon", "2008" -> "2012"): what people ask
    # "And ...?" about; a changed verb or adjective ("closely" -> "distantly") reads as nonsense.
    if not (part[:1].isupper() or part[:1].isdigit()) or not (replaced[:1].isupper() or replaced[:1].isdigit()):
        return None
    if any(occurs(part, answer) for answer in source.answers):
        return None
    question = rng.choice(("What about {}?", "And {}?", "How about {}?")).format(part)
    return FollowUp(question, history, "ellipsis", f"{source.question} -> {question}", source)


def generate(
    articles, nlp, rng: random.Random, unanswerable: Sequence[Question] = (), processes: int = 1
) -> list[FollowUp]:
    """Follow-ups of every question (answerable, and generated unanswerable ones by their source)
    whose previous turn in its paragraph names what it asks about; at most one per question."""
    turns: list[tuple[Question, tuple[tuple[str, str], ...]]] = []
    for article in articles:
        for _, questions in article.paragraphs:
            answered = [q for q in questions if q.answerable]
            for number, question in enumerate(answered):
                if number:
                    history = tuple((q.question, q.answers[0]) for q in answered[max(0, number - HISTORY_TURNS) : number])
                    turns.append((question, history))
    history_by_source = {question.id: history for question, history in turns}
    turns += [(u, history_by_source[u.source_id]) for u in unanswerable if u.source_id in history_by_source]
    texts = (text for q, history in turns for text in (q.question, " ".join(history[-1])))
    docs = iter(nlp.pipe(texts, batch_size=256, n_process=processes))
    made: list[FollowUp] = []
    for question, history in tqdm(turns, desc="follow-ups", unit="q", mininterval=5):
        doc, previous_turn = next(docs), next(docs)
        follow_up = ellipsis_follow_up(question, history, rng) or pronoun_follow_up(question, doc, history, previous_turn)
        if follow_up is not None:
            made.append(follow_up)
    counts = Counter((f.kind, f.source.answerable) for f in made)
    logger.info("made %d follow-ups from %d later turns: %s", len(made), len(turns), dict(counts))
    return made


def to_squad(made: list[FollowUp]) -> dict:
    """SQuAD 2.0 layout; each question carries its ``history`` ([[question, answer], ...], oldest first)."""
    articles: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for f in made:
        source = f.source
        entry = {
            "id": f"{source.id}-{f.kind}",
            "question": f.question,
            "is_impossible": not source.answerable,
            "answers": [{"text": t, "answer_start": s} for t, s in zip(source.answers, source.answer_starts)],
            "plausible_answers": (
                [{"text": source.plausible_answer, "answer_start": source.plausible_start}]
                if source.plausible_answer else []
            ),
            "history": [list(turn) for turn in f.history],
            "category": f"follow-up {f.kind}" + ("" if source.answerable else f" {source.category}"),
            "change": f.change,
            "source_question": source.question,
        }
        articles[source.article][source.context].append(entry)
    return {
        "version": "v2.0-generated-conversations",
        "data": [
            {"title": title, "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs.items()]}
            for title, paragraphs in articles.items()
        ],
    }


def generate_file(
    output_dir: Path,
    data: Sequence[Path] = (SQUAD1_TRAIN,),
    unanswerable: Path | None = None,
    seed: int = 13,
    processes: int = 1,
) -> Path:
    """Write ``output_dir/conversations.json.gz`` from SQuAD 1.1 files (and, given, the generated
    unanswerable questions of ``qa generate-unanswerable``, whose ``source_id`` names their turn)."""
    from qa.training.squad import load_questions
    from qa.training.unanswerable import load_spacy

    articles = [article for path in data for article in load_articles(path)]
    made_unanswerable = load_questions(unanswerable) if unanswerable else []
    made = generate(articles, load_spacy(), random.Random(seed), made_unanswerable, processes)
    path = Path(output_dir) / "conversations.json.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(to_squad(made), handle, ensure_ascii=False)
    return path
