"""Answers in the question's shape (``qa.shapes``), made from what retrieval and the reader found:
pure functions on the article's sentences and the reader's best span, no model.

- a **verdict** for a yes/no question or a claim: the sentence that shares most of the claim's words
  decides; it contradicts the claim when one of them negates what the other says, or when it gives
  another value (a number, a name) where the claim gives one; too few of the claim's words anywhere
  and the article doesn't say;
- **why / how**: the reason or manner clause around the reader's span, cited in its sentence;
- **tell me more**: the sentences about the thing asked, best first (at most ``MORE_WORDS`` words);
- **a quote**: the quoted words nearest the person asked about;
- **how many**: the number, or the items of a listed series counted;
- **which ones**: every item of the series the reader's span is in.

>>> words_of("Austin didn't arrive on Monday, right?")
['austin', "didn't", 'arrive', 'on', 'monday', 'right']
>>> negated(words_of("The car cannot be locked.")), negated(words_of("The car locks."))
(True, False)
>>> series_items("They build jet engines, long-range artillery and infantry vehicles.", 11)
[(11, 22), (24, 44), (49, 66)]
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

import Stemmer

from qa.chunking import Sentence
from qa.shapes import COUNT, ELABORATE, HOW, LIST, QUOTE, VERDICT_SHAPES, WHY, claim_of, topic_of

_STEMMER = Stemmer.Stemmer("english")
_WORD = re.compile(r"[\w][\w'\u2019.%$-]*[\w%]|[\w$%]")

NOT_STATED = "not stated"
YES = "yes"
NO = "no"

# Words that carry no claim of their own: articles, auxiliaries, pronouns, prepositions, tags.
_STOP = frozenset(
    """
    a an the of to in on at by for with from into onto about as and or but if then than that this these those
    is are was were be been being am do does did done have has had having can could will would shall should may
    might must it its it's he she they them his her hers their theirs him we us our you your i me my mine
    so also just really actually still right correct true yes yeah okay ok well there here what which who whom
    whose when where why how all any some each every other another such very much many more most again ever
    read heard say says said tell told article story according i'm i've i'd isn't wasn't aren't weren't
    don't doesn't didn't hasn't haven't hadn't won't wouldn't can't couldn't shouldn't one
    """.split()
)
_NEGATIONS = frozenset(
    "not no never none nobody nothing neither nor cannot without n't didn't doesn't don't isn't wasn't aren't weren't "
    "hasn't haven't hadn't won't wouldn't can't couldn't shouldn't longer refused refuses denied denies declined "
    "failed fails lacks lacked".split()
)
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million "
    "billion trillion half quarter third dozen dozens percent".split()
)
_DAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
# Months but "may" and "march", which are more often a verb than a month.
_DAYS_MONTHS = _DAYS | frozenset(
    "january february april june july august september october november december".split()
)
_NUMBER_AS_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}


def words_of(text: str) -> list[str]:
    """Lower-cased words (numbers with their point, comma, % or $ kept)."""
    return [w.strip(".").replace("\u2019", "'") for w in _WORD.findall(text.lower()) if w.strip(".")]


def _stems(words: Sequence[str]) -> list[str]:
    return _STEMMER.stemWords([w.replace(",", "") for w in words])


def negated(words: Sequence[str]) -> bool:
    """True when the words hold a negation ("not", "cannot", "no longer", "didn't", ...)."""
    return any(w in _NEGATIONS or w.endswith("n't") for w in words)


def _is_value(word: str) -> bool:
    return any(ch.isdigit() for ch in word) or word in _NUMBER_WORDS or word in _DAYS_MONTHS


def _value(word: str) -> str:
    """A number word and its digits read alike ("four" and "4"; "50-year-old" is 50)."""
    if word in _NUMBER_AS_WORDS:
        return str(_NUMBER_AS_WORDS[word])
    number = re.match(r"[$€£]?(\d[\d,]*(?:\.\d+)?)", word)
    return number.group(1).replace(",", "") if number else word


def _kind(value: str) -> str:
    """"day", "month", "number" or "word" (half, dozen, percent...)."""
    if value in _DAYS:
        return "day"
    if value in _DAYS_MONTHS:
        return "month"
    return "number" if value[:1].isdigit() else "word"


@dataclass(frozen=True)
class Claim:
    """A claim's words as a verdict compares them: its content stems, its values (numbers, days,
    months), its names (capitalised words past its first) and whether it is negated."""

    content: frozenset[str]
    values: frozenset[str]
    names: frozenset[str]
    negative: bool
    # Names but the first: what the claim says its subject did something with ("Modi" in "Austin met Modi").
    other_names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, text: str) -> Claim:
        """
        >>> c = Claim.of("Austin arrived on Monday")
        >>> sorted(c.content), sorted(c.values), sorted(c.names), c.negative
        (['arriv', 'austin', 'monday'], ['monday'], ['austin', 'monday'], False)
        """
        words = words_of(text)
        content = [w for w in words if w not in _STOP and w not in _NEGATIONS]
        cased = _WORD.findall(text)
        names = [_stems([w.lower()])[0] for w in cased if w[:1].isupper() and w.lower() not in _STOP]
        return cls(frozenset(_stems(content)), frozenset(_value(w) for w in content if _is_value(w)),
                   frozenset(names), negated(words), frozenset(names[1:]) - {names[0]} if names else frozenset())


@dataclass(frozen=True)
class Verdict:
    """A claim checked against the article: ``verdict`` (yes, no, not stated), the sentence that
    decides it (its index; None when not stated), the article's own value where it differs from
    the claim's (``correction``: a piece of that sentence, offsets within it) and a confidence."""

    verdict: str
    sentence: int | None
    correction: tuple[int, int] | None
    score: float
    why: str
    coverage: float = 0.0  # the share of the claim's words (names and values twice) in the deciding sentence


# Confidence of each way a verdict is reached: the share of chat_shapes_dev's yes/no questions and
# claims so decided that were right (docs/benchmarks.md, "Answers in the question's shape").
VERDICT_CONFIDENCE = {YES: 0.57, NO: 0.76, NOT_STATED: 0.58}
# A claim is stated by a sentence holding at least this share of its content words (stems).
MIN_COVERAGE = 0.5
# The sentence the reader found its best span in, asked the question, is preferred by this much
# coverage: it often says it of a name the claim words otherwise ("The US Defence Secretary").
# chat_shapes_dev scores the same from 0.05 to 0.3.
READER_SENTENCE_BONUS = 0.2


def check_claim(claim: str, sentences: Sequence[str], reader_sentence: int | None = None) -> Verdict:
    """The verdict on ``claim`` from the article's ``sentences``: the sentence that holds most of
    the claim's content words (``reader_sentence``, where the reader found its best span for the
    question, wins ties) decides.

    >>> s = ["Austin arrived in New Delhi on Sunday.", "He met Singh on Monday.", "The talks went well."]
    >>> [check_claim(c, s, 0).verdict for c in ("Austin arrived on Sunday", "Austin arrived on Monday",
    ...     "Austin did not arrive in New Delhi", "Austin flew to Tokyo in a jet")]
    ['yes', 'no', 'no', 'not stated']
    >>> s[0][slice(*check_claim("Austin arrived on Monday", s, 0).correction)]
    'Sunday'
    """
    wanted = Claim.of(claim)
    if not wanted.content or not sentences:
        return Verdict(NOT_STATED, None, None, VERDICT_CONFIDENCE[NOT_STATED], "nothing to check")
    sentence_words = [words_of(s) for s in sentences]
    stems = [set(_stems(words)) for words in sentence_words]
    article = set().union(*stems)
    # Content words of the claim the article never uses: a name or a value it never gives is
    # either not stated or contradicted by the value it gives instead.
    absent = wanted.content - article

    # The sentence is chosen by the claim's frame (its words but its values): a claim with a wrong
    # value is about the sentence that gives the right one.
    frame = wanted.content - wanted.values or wanted.content

    def coverage(i: int) -> float:
        held = frame & (stems[i] | stems[i + 1] if _leans_on_next(sentences, i) else stems[i])
        return len(held) / len(frame)

    scores = [coverage(i) + (READER_SENTENCE_BONUS if i == reader_sentence else 0.0) for i in range(len(sentences))]
    best = max(range(len(sentences)), key=scores.__getitem__)
    covered = coverage(best)
    if covered < MIN_COVERAGE:
        return Verdict(NOT_STATED, None, None, VERDICT_CONFIDENCE[NOT_STATED], f"at most {covered:.0%} of its words in a sentence", covered)
    held = stems[best] | (stems[best + 1] if _leans_on_next(sentences, best) else set())
    if wanted.other_names - held - {_value(w) for w in wanted.values}:
        # Its subject may be said another way ("the US Defence Secretary"); the others may not.
        return Verdict(NOT_STATED, None, None, VERDICT_CONFIDENCE[NOT_STATED], "a name it gives is not in the sentence", covered)
    words = sentence_words[best]
    # A negated claim against a plain sentence, or a sentence negating a word of a plain claim.
    if negated(words) != wanted.negative and (wanted.negative or _negation_near(words, wanted.content)):
        return Verdict(NO, best, None, VERDICT_CONFIDENCE[NO], "one negates the other", covered)
    given = {_value(w) for w in words if _is_value(w)}
    missing_values = wanted.values - given
    # Another value contradicts a claimed one of its kind only: a number another number, a day another day.
    if any(_kind(m) == _kind(g) for m in missing_values for g in given - wanted.values):
        return Verdict(NO, best, _other_value(sentences[best], wanted.values), VERDICT_CONFIDENCE[NO], "another value", covered)
    if absent & (wanted.names | wanted.values) or missing_values:
        return Verdict(NOT_STATED, None, None, VERDICT_CONFIDENCE[NOT_STATED], "a name or value the article never gives", covered)
    return Verdict(YES, best, None, VERDICT_CONFIDENCE[YES], f"{covered:.0%} of its words in one sentence", covered)


def _leans_on_next(sentences: Sequence[str], i: int) -> bool:
    """True when the next sentence goes on about the same thing (it opens on a pronoun)."""
    return i + 1 < len(sentences) and bool(re.match(r"\W*(he|she|it|they|his|her|their|its)\b", sentences[i + 1], re.I))


def _negation_near(words: Sequence[str], content: frozenset[str], reach: int = 4) -> bool:
    """True when a negation stands within ``reach`` words before a word of the claim."""
    stems = _stems(words)
    for i, word in enumerate(words):
        if word in _NEGATIONS or word.endswith("n't"):
            if any(stem in content for stem in stems[i + 1 : i + 1 + reach]):
                return True
    return False


def _other_value(sentence: str, claimed: frozenset[str]) -> tuple[int, int] | None:
    """Where ``sentence`` gives a value that is not one of ``claimed`` (with the unit word or the
    number words around it: "10 million", "Sunday")."""
    for match in re.finditer(r"[$€£]?\d[\d,.]*%?(?:\s+(?:million|billion|trillion|percent|thousand|hundred))?|\b[A-Za-z]+\b", sentence):
        word = match.group().lower()
        if (_is_value(word.split()[0]) or word[:1] in "$€£") and _value(word.split()[0].lstrip("$€£")) not in claimed:
            return match.start(), match.end()
    return None


# Where a reason or manner clause begins, inside a sentence.
_CLAUSE_CUES = re.compile(
    r"\b(?:because(?: of)?|since|as a result of|due to|owing to|thanks to|so that|in order to|in hopes? of|"
    r"on the (?:expectation|belief|grounds) that|for fear|after|amid|by|through|with|using|via|to)\b",
    re.IGNORECASE,
)
_CLAUSE_ENDS = re.compile(r"[;:\u2014\u2013()]|,\s+(?:but|while|although|whereas)\b|,\s+(?:\w+\s+){0,3}(?:said|says|added|according)\b|\.\s")
MIN_CLAUSE_WORDS = 4


def clause_around(sentence: str, start: int, end: int) -> tuple[int, int]:
    """The clause of ``sentence`` that holds ``sentence[start:end]``: from the nearest reason or
    manner word ("because", "by", "to", ...) or clause break before it to the next clause break
    after it; the piece itself when that clause is too short to be one ("religiously").

    >>> s = "Investors piled into dollars on the expectation that rates will rise, analysts said."
    >>> a = s.index("rates")
    >>> s[slice(*clause_around(s, a, a + 5))]
    'on the expectation that rates will rise'
    """
    before = sentence[:start]
    cues = [m.start() for m in _CLAUSE_CUES.finditer(before)]
    breaks = [m.end() for m in re.finditer(r"[,;:\u2014\u2013(]\s*", before)]
    left = max(cues[-1:] + breaks[-1:] + [0])
    after = _CLAUSE_ENDS.search(sentence, end)
    right = after.start() if after else len(sentence.rstrip(" ."))
    right = len(sentence[:right].rstrip(" ,"))
    if len(sentence[left:right].split()) < MIN_CLAUSE_WORDS:
        return start, end
    return left, right


_QUOTED = re.compile(r"[\u201c\"]([^\u201c\u201d\"]{12,}?)[\u201d\"]")


def quotes_in(text: str) -> list[tuple[int, int]]:
    """Where the quoted words of ``text`` are (inside their quotation marks).

    >>> t = 'He said, \u201cWe will win this one.\u201d Then he left.'
    >>> [t[a:b] for a, b in quotes_in(t)]
    ['We will win this one.']
    """
    return [(m.start(1), m.end(1)) for m in _QUOTED.finditer(text)]


_SERIES = re.compile(r"(?:,\s+|\s+(?:and|or|as well as)\s+|,\s+(?:and|or)\s+)")
_ITEM_END = re.compile(r"[.;:!?()\u2014\u2013]|\s+(?:which|who|that|were|was|are|is|have|has|had|will|would|to)\s")


def series_items(sentence: str, offset: int) -> list[tuple[int, int]]:
    """The items of a series ("A, B and C") that starts in ``sentence`` at ``offset`` or just
    before it, as offsets in ``sentence``; [] when there is no series of two or more there."""
    # The reader's span starts the series' first item (a walk back to the comma before it would
    # take in the verb: "They build jet engines").
    start = offset
    stop = _ITEM_END.search(sentence, offset)
    region_end = stop.start() if stop else len(sentence)
    region = sentence[start:region_end]
    items, position = [], 0
    for match in _SERIES.finditer(region):
        items.append((start + position, start + match.start()))
        position = match.end()
    items.append((start + position, start + len(region.rstrip(" ."))))
    items = [(a + len(sentence[a:b]) - len(sentence[a:b].lstrip()), b) for a, b in items if sentence[a:b].strip()]
    # An item of more than six words is a clause, not an item of a series.
    if len(items) < 2 or any(len(sentence[a:b].split()) > 6 for a, b in items):
        return []
    return items



# --- answers in the question's shape, from what was read --------------------------------------


@dataclass(frozen=True)
class Found:
    """What the reading found, where a shaped answer starts from: the article's text and
    sentences, the reader's best span (``start``, ``end``: offsets in ``text``, whether or not it
    beat the no-answer threshold) and its margin over that threshold."""

    text: str
    sentences: Sequence[Sentence]
    start: int
    end: int
    margin: float

    @property
    def sentence(self) -> int:
        """The index of the sentence holding the span's start."""
        starts = [s.start for s in self.sentences]
        return max(bisect.bisect_right(starts, self.start) - 1, 0)


@dataclass(frozen=True)
class Shaped:
    """A reply in the question's shape: its ``text``, the article pieces it rests on (``pieces``:
    offsets in the article; the first is highlighted as the answer), the sentence it is shown in,
    the verdict (yes/no questions and claims) and its confidence. ``text`` "" is "the article
    doesn't say"."""

    text: str
    pieces: tuple[tuple[int, int], ...]
    sentence: int | None
    score: float
    verdict: str | None = None
    cited: bool = False  # each piece is also a citation (a list, a "tell me more")


_VERDICT_TEXT = {YES: "Yes", NO: "No"}
# Tell me more: the sentences about the thing asked, in at most this many words (a reply that
# repeats its cited sentences as its text stays under the 80 words a chat reply is read in).
MORE_WORDS = 40
# How sure each kind of reply is: the share of chat_shapes_dev's questions so answered that were
# right (docs/benchmarks.md, "Answers in the question's shape"), so that a figure shown means
# what it says.
SHAPE_CONFIDENCE = {"why": 0.64, "how": 0.55, "elaborate": 0.67, "quote": 0.82, "count": 0.86, "list": 0.5}
# Below this reader margin (over its no-answer threshold) nothing read is about the question:
# "not stated".
MIN_REASON_MARGIN = -6.0
# A reason or a manner is harder to find than a name: the article gives none for 11 of
# chat_shapes_dev's 52 whys and hows, and the reader's best span for those has margins up to 10,
# 6 of them under 4, where 2 of the 41 it gives are.
MIN_WHY_MARGIN = 4.0


# A claim the reader finds nothing for (its margin this far under its no-answer threshold) is
# stated only by a sentence that holds this share of its words: on chat_shapes_dev, 36 of 43
# claims the article doesn't state have a margin under -3, 61 of 87 stated ones above it.
WEAK_MARGIN = -3.0
WEAK_COVERAGE = 0.8
# A reader this sure (margin over its threshold) has found the sentence that decides: from 2 to
# 5, 87 of chat_shapes_dev's 130 yes/no questions and claims are right, 78 without.
SURE_MARGIN = 4.0


def verdict_reply(claim: str, found: Found) -> Shaped:
    """A yes/no question or a claim checked against the article (``check_claim``), "not stated"
    when the reader found nothing for it and no sentence holds nearly all its words."""
    verdict = check_claim(claim, [s.text for s in found.sentences], found.sentence)
    reader_sentence = set(_stems(words_of(found.sentences[found.sentence].text)))
    if verdict.verdict == NOT_STATED and found.margin >= SURE_MARGIN and Claim.of(claim).other_names <= reader_sentence:
        # The reader is sure the answer is in its sentence, in other words than the claim's: that
        # sentence decides, by its negation (if it names whom the claim names).
        words = words_of(found.text[found.start:found.end])
        verdict = Verdict(NO if negated(words) else YES, found.sentence, None, VERDICT_CONFIDENCE[NO if negated(words) else YES], "the reader's sentence", 1.0)
    if verdict.verdict == NOT_STATED or verdict.sentence is None or (
        found.margin < WEAK_MARGIN and verdict.coverage < WEAK_COVERAGE
    ):
        return Shaped("", (), None, VERDICT_CONFIDENCE[NOT_STATED], NOT_STATED)
    sentence = found.sentences[verdict.sentence]
    if verdict.verdict == NO and verdict.correction:
        start, end = (sentence.start + offset for offset in verdict.correction)
        return Shaped(f"No — it says {found.text[start:end]}", ((start, end),), verdict.sentence, verdict.score, NO)
    said = _VERDICT_TEXT[verdict.verdict]
    if sentence.start <= found.start and found.end <= sentence.end:
        # The words that decide it, as the reader found them: "No — do not pay"; a "yes", the clause
        # around them: the reader's span for "Did Austin arrive on Sunday?" is its subject, a
        # fragment ("Yes — The US Defence Secretary") where the clause says it ("… arrived in New
        # Delhi on Sunday").
        start, end = found.start, found.end
        if verdict.verdict == YES:
            start, end = (sentence.start + offset for offset in clause_around(sentence.text, start - sentence.start, end - sentence.start))
        return Shaped(f"{said} — {found.text[start:end]}", ((start, end),), verdict.sentence, verdict.score, verdict.verdict)
    return Shaped(said, ((sentence.start, sentence.end),), verdict.sentence, verdict.score, verdict.verdict)


def reason_reply(shape: str, found: Found) -> Shaped:
    """Why / how: the reason or manner clause around the reader's span (``clause_around``)."""
    if found.margin < MIN_WHY_MARGIN:
        return Shaped("", (), None, SHAPE_CONFIDENCE[shape])
    sentence = found.sentences[found.sentence]
    start, end = clause_around(sentence.text, found.start - sentence.start, min(found.end, sentence.end) - sentence.start)
    start, end = sentence.start + start, sentence.start + end
    return Shaped(found.text[start:end], ((start, end),), found.sentence, SHAPE_CONFIDENCE[shape])


def more_reply(topic: str, found: Found) -> Shaped:
    """Tell me more: the sentence about ``topic`` (the reader's, when it shares as many of the
    topic's words as any), and the next one when it goes on about the same thing, in at most
    ``MORE_WORDS`` words; each sentence cited."""
    wanted = set(_stems([w for w in words_of(topic) if w not in _STOP]))
    sentences = found.sentences

    def shared(i: int) -> float:
        return len(wanted & set(_stems(words_of(sentences[i].text)))) + (0.5 if i == found.sentence else 0.0)

    best = max(range(len(sentences)), key=shared) if wanted else found.sentence
    chosen = [best]
    if best + 1 < len(sentences) and _leans_on_next([s.text for s in sentences], best):
        if len(sentences[best].text.split()) + len(sentences[best + 1].text.split()) <= MORE_WORDS:
            chosen.append(best + 1)
    pieces = tuple((sentences[i].start, sentences[i].end) for i in chosen)
    return Shaped(" ".join(sentences[i].text for i in chosen), pieces, best, SHAPE_CONFIDENCE["elaborate"], cited=True)


def quote_reply(question: str, found: Found) -> Shaped:
    """What someone said: the quoted words nearest the person asked about (named in the question,
    in the quote's sentence or the one before or after it), else nearest the reader's span."""
    names = {w for w in _stems([w.lower() for w in _WORD.findall(question) if w[:1].isupper()]) if w not in _STOP}
    topic = set(_stems([w for w in words_of(question) if w not in _STOP])) - names
    sentences = found.sentences
    candidates = []
    for i, sentence in enumerate(sentences):
        for start, end in quotes_in(sentence.text):
            around = set().union(*(set(_stems(words_of(sentences[j].text))) for j in range(max(i - 1, 0), min(i + 2, len(sentences)))))
            quoted = set(_stems(words_of(sentence.text[start:end])))
            score = 2 * len(names & around) + len(topic & quoted) - 0.2 * abs(i - found.sentence)
            candidates.append((score, i, sentence.start + start, sentence.start + end))
    if not candidates:
        return reason_reply("quote", found) if found.margin >= MIN_REASON_MARGIN else Shaped("", (), None, SHAPE_CONFIDENCE["quote"])
    _, i, start, end = max(candidates)
    return Shaped(found.text[start:end], ((start, end),), i, SHAPE_CONFIDENCE["quote"])


_SPELLED = list(_NUMBER_AS_WORDS)


def count_reply(found: Found) -> Shaped:
    """How many: the reader's span when it holds a number; else the items of the series it is in,
    counted ("three: jet engines, long-range artillery and infantry vehicles")."""
    span = found.text[found.start:found.end]
    if any(_is_value(w) for w in words_of(span)) or found.margin < MIN_REASON_MARGIN:
        return Shaped(span if found.margin >= MIN_REASON_MARGIN else "", ((found.start, found.end),), found.sentence,
                      SHAPE_CONFIDENCE["count"])
    sentence = found.sentences[found.sentence]
    items = series_items(sentence.text, found.start - sentence.start)
    if not items:
        return Shaped(span, ((found.start, found.end),), found.sentence, SHAPE_CONFIDENCE["count"])
    count = _SPELLED[len(items)] if len(items) < len(_SPELLED) else str(len(items))
    listed = _joined([sentence.text[a:b] for a, b in items])
    pieces = tuple((sentence.start + a, sentence.start + b) for a, b in items)
    return Shaped(f"{count}: {listed}", pieces, found.sentence, SHAPE_CONFIDENCE["count"])


def items_reply(question: str, found: Found, names: Sequence[tuple[int, int, str]] = ()) -> Shaped:
    """Which ones: when the reader's span is a name, the names of its kind said in its sentence
    (``names``: offsets in it and a label) that the question doesn't name, if two or more; else
    every item of the series the reader's span is in; each cited."""
    if found.margin < MIN_REASON_MARGIN:
        return Shaped("", (), None, SHAPE_CONFIDENCE["list"])
    sentence = found.sentences[found.sentence]
    asked = set(words_of(question))
    start, end = found.start - sentence.start, found.end - sentence.start
    kinds = {label for a, b, label in names if a < end and start < b}
    alike = [(a, b) for a, b, label in names if label in kinds and not set(words_of(sentence.text[a:b])) <= asked]
    items = alike if len(alike) >= 2 else series_items(sentence.text, start)
    pieces = tuple((sentence.start + a, sentence.start + b) for a, b in items) or ((found.start, found.end),)
    return Shaped(_joined([found.text[a:b] for a, b in pieces]), pieces, found.sentence, SHAPE_CONFIDENCE["list"], cited=True)


def _joined(items: Sequence[str]) -> str:
    """
    >>> _joined(["a", "b", "c"]), _joined(["a"])
    ('a, b and c', 'a')
    """
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def reply_in_shape(shape: str, question: str, found: Found, names: Sequence[tuple[int, int, str]] = ()) -> Shaped:
    """The reply of ``shape`` (``qa.shapes``, not a fact) to ``question`` from what was ``found``
    (and, for a list, the names said in the reader's sentence: offsets in it, label)."""
    if shape in VERDICT_SHAPES:
        return verdict_reply(claim_of(question), found)
    if shape in (WHY, HOW):
        return reason_reply(shape, found)
    if shape == ELABORATE:
        return more_reply(topic_of(question), found)
    if shape == QUOTE:
        return quote_reply(question, found)
    if shape == COUNT:
        return count_reply(found)
    if shape == LIST:
        return items_reply(question, found, names)
    raise ValueError(f"no reply of shape {shape!r}")
