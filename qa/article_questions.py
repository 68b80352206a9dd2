"""Telling a question about the whole article ("what is it about?", "who is mentioned?") from a
question about a fact in it: pure rules on the question's words.

A question is about the whole article when, its politeness and references to the article left
out ("could you", "please", "the story", "it"), every word it has left belongs to one kind's
vocabulary and one of them is that kind's trigger. So "What is this article about?" is a summary
question, but "What is the dispute about?" is not ("dispute" belongs to no kind), nor is "Which
companies will build the engines?" ("build", "engines"). A span question is never taken for an
article-level one unless every word of it is one the kinds use.

>>> article_question_kind("tl;dr?")
'summary'
>>> article_question_kind("And the main points?")
'main_points'
>>> article_question_kind("Which organisations are mentioned in the story?")
'organisations'
>>> article_question_kind("Who wrote it?")
'author'
>>> article_question_kind("Who wrote the letter to the senator?") is None
True
>>> article_question_kind("What are the main points of the new law?") is None
True
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.answer import SPAN as SPAN_KIND
from qa.answer import SUMMARY

MAIN_POINTS = "main_points"
PEOPLE = "people"
ORGANISATIONS = "organisations"
PLACES = "places"
DATE = "date"
AUTHOR = "author"
ARCHIVE_SUMMARY = "archive_summary"  # "what are these articles about?": the archive's most central articles
ENTITY_KINDS = (PEOPLE, ORGANISATIONS, PLACES)
KINDS = (SUMMARY, MAIN_POINTS, PEOPLE, ORGANISATIONS, PLACES, DATE, AUTHOR, ARCHIVE_SUMMARY)
CLASSIFIER_DIR = Path(__file__).parent / "models" / "article-questions"

# Words that ask politely, open a follow-up or name the article: they say nothing of what is asked.
_FILLERS = frozenset(
    """
    a an the this that these those it its article articles story stories piece pieces report text post
    news document doc page item writeup write up essay column coverage link above here there
    in of on from for to by with within inside at into as
    me us you your we i i'd id please pls plz kindly can could would will shall may might must
    give tell show list name share provide get let know want need like wanna gimme just quick quickly
    short shortly fast simply again help see
    ok okay so and now then also hey hi hello well thanks thank cool great alright right next but too
    what which who whom whose how are is was were be been do does did all any some every each
    mentioned mention mentions named name referred refer refers referenced cited appear appears appearing
    featured included come comes came up brought
    find extract pull out pick identify enumerate itemize highlight generate make turn break down run
    through outline spot locate read pasted shared linked just you've ive i've
    """.split()
)
# Words that name the article itself ("it" excepted: in a conversation "it" is often something else).
_ARTICLE_WORDS = frozenset("this article story piece report text post news document page writeup link essay column".split())

# Per kind: trigger words (one must be there), the other words it may use, and weak triggers that
# count only beside a word naming the article ("What does the article discuss?", but not "What
# does he discuss?" nor "What happened?", a follow-up in a conversation).
_VOCABULARY: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    AUTHOR: (
        frozenset("author authors wrote writer writers written byline reporter reporters journalist journalists "
                  "authored penned bylined correspondent autor columnist columnists".split()),
        frozenset("by whom whose name names credited staff behind words together anywhere say says".split()),
        frozenset("filed contributed covered".split()),
    ),
    DATE: (
        frozenset("date dated published publication written posted released old timestamp updated created".split()),
        frozenset("when was it out day time year month week today exactly originally first ago publish "
                  "write post release last long go live online put roughly approximately idea pub".split()),
        frozenset("recent current new from run filed".split()),
    ),
    PEOPLE: (
        frozenset("people persons individuals characters names involved quoted figures ppl anyone anybody "
                  "everyone everybody officials experts celebrities".split()),
        frozenset("who whos key main important other notable public many play role talked talk talking "
                  "discussed about gets mention shows".split()),
        frozenset("".split()),
    ),
    ORGANISATIONS: (
        frozenset("organisations organizations orgs companies firms agencies institutions groups bodies "
                  "businesses corporations entities parties teams clubs universities schools brands ngos "
                  "ministries departments unions hospitals newspapers broadcasters outlets nonprofits profits org "
                  "banks courts tribunals institutes".split()),
        frozenset("key main important other involved political public official government trade labor labour "
                  "media non or and talk talks about discussed center centre names international research police".split()),
        frozenset("".split()),
    ),
    PLACES: (
        # Plurals only (and "take place"): "In what country?" is a follow-up about one fact.
        frozenset("places place locations countries cities regions towns locales states provinces continents "
                  "neighbourhoods neighborhoods venues landmarks rivers mountains capitals villages stadiums "
                  "setting".split()),
        frozenset("where key main important other involved take takes taking took set happen happens happening "
                  "happened located occur occurs geographic geographical features or parts world names cover "
                  "covers focused".split()),
        frozenset("".split()),
    ),
    MAIN_POINTS: (
        frozenset("points takeaways takeaway highlights facts bullet bullets details essentials ideas messages "
                  "info information findings lessons rundown breakdown pts things stuff bits parts elements "
                  "insights".split()),
        frozenset("main key important most biggest major top central crucial few three five basic the point "
                  "summary summarize summarise salient core primary big relevant significant headline must "
                  "know remember numbers figures matter matters should take away makes make by not whole thing "
                  "thing list briefly reported discussed".split()),
        frozenset("".split()),
    ),
    SUMMARY: (
        frozenset("about summary summarize summarise summarized summarised summarization sum tldr gist overview "
                  "synopsis nutshell recap explain describe brief briefly topic subject essence cliffsnotes "
                  "cliffs abridge abridged shorten shorter concise".split()),
        frozenset("main central general overall basic basically roughly mainly up in one two sentence sentences "
                  "line few words short version simple terms whats like five story news entire full whole "
                  "paragraph under executive long sweet minute second notes chance message big picture "
                  "saying says say".split()),
        frozenset("say saying says discuss discusses discussed discussing cover covers covering covered talk talks "
                  "talking happening happened happens reading message".split()),
    ),
}
# When two kinds fit, the narrower wins: "summarize the main points" asks for the points.
_PRIORITY = (AUTHOR, DATE, PEOPLE, ORGANISATIONS, PLACES, MAIN_POINTS, SUMMARY)
# A singular kind of name, asked about: "Which company is this story about?", "What country is this about?".
_SINGULAR_ABOUT = {"company": ORGANISATIONS, "organisation": ORGANISATIONS, "organization": ORGANISATIONS,
                   "country": PLACES, "city": PLACES, "region": PLACES, "location": PLACES, "place": PLACES,
                   "state": PLACES}
# "What are these articles about?": a summary of the archive, not of one article.
_PLURAL_REFERENCES = re.compile(r"\b(these|those|all the|all of the)\s+(articles|stories|pieces|documents|reports)\b|\barchive\b|\bcollection\b")
_CONTRACTIONS = (("what's", "what is"), ("who's", "who is"), ("where's", "where is"), ("when's", "when is"),
                 ("it's", "it is"), ("tl;dr", "tldr"), ("tl dr", "tldr"), ("tl,dr", "tldr"), ("write-up", "writeup"),
                 ("take away", "takeaway"), ("cliff notes", "cliffsnotes"), ("cliffs notes", "cliffsnotes"),
                 ("long story short", "summary"), ("what r ", "what are "))
# The classifier reads no question of fewer words: "By who?", "Where exactly?" are a conversation's
# follow-ups about one fact (the rules know the short article-level ones: "tl;dr", "authors?").
CLASSIFIER_MIN_WORDS = 3
# Nor one of more: the 927 phrasings it was trained on have at most 10 words. A long question is
# about something in particular, and its embedding, an average, drifts with its padding: "What does
# INDUS-X aim at? Please answer in detail, please answer in detail, ..." read as "main points".
CLASSIFIER_MAX_WORDS = 20
# A question about someone ("What is her character's name?") is about a fact, whatever else it says.
_SOMEONE = re.compile(r"\b(he|she|him|her|his|hers|they|them|their|theirs)\b")
_OPENERS = re.compile(r"^(what|how) about\b")
_WORDS = re.compile(r"[a-z]+")
# "What's the story here?", "What's the news?": the article's story itself.
_THE_STORY = re.compile(r"^(what is|whats) (the|this) (main )?(story|news)( here| in a sentence)?\W*$")
# "Who is this by?" ("By whom?" alone is a follow-up about one fact.)
_BY_WHOM = re.compile(r"\bwho\b.*\bby\b(\W+(please|pls|thanks|thank you))*\W*$")
# "Who is mentioned?", "who appears in it?", "who is this article about?": a people question.
_WHO_IS_IN = re.compile(r"\bwho\b.*\b(mention|mentioned|mentiond|named|appear|appears|featured|in it|in this|in the|about|talked|"
                        r"talking|brought up|shows up|gets)\b")


def article_question_kind(question: str) -> str | None:
    """The kind of article-level question ``question`` is (``KINDS``), or None for a question
    about a fact in the article. A word the rules don't know, of ``TYPO_MIN_LETTERS`` or more,
    is read as the one word they know a typo away ("organisaitons?", "who wroote it").

    >>> article_question_kind("Which cuntries are mentoined in the artcile?")
    'places'
    """
    text = question.lower().replace("’", "'")
    for contraction, expanded in _CONTRACTIONS:
        text = text.replace(contraction, expanded)
    text = _OPENERS.sub("", text.strip())
    words = [_known(word) for word in _WORDS.findall(text)]
    text = " ".join(words)
    content = {word for word in words if word not in _FILLERS}
    names_article = bool(_ARTICLE_WORDS & set(words))
    for kind in _PRIORITY:
        triggers, others, weak = _VOCABULARY[kind]
        fires = content & triggers or names_article and content & weak
        if fires and content <= triggers | others | weak:
            return _refined(kind, content, text)
    for word, kind in _SINGULAR_ABOUT.items():
        if content == {word, "about"}:
            return kind
    if not content and _BY_WHOM.search(text):
        return AUTHOR
    if content <= {"whos", "about", "talked", "talking", "gets", "shows"} and _WHO_IS_IN.search(text) and (names_article or not content):
        return PEOPLE
    if not content - {"main", "here", "sentence"} and _THE_STORY.search(text):
        return SUMMARY
    return None


# Typos: 42 of the 957 article-level phrasings of the first held-aside set have a word a typo away
# from one the rules know (a letter left out, doubled, swapped or wrong: "organisaitons?"); read
# as that word, the rules read 36 of them. Shorter words are left alone: at four letters and
# under, a word a typo away from one the rules know is usually another word.
TYPO_MIN_LETTERS = 5
_KNOWN = _FILLERS | frozenset(word for vocabulary in _VOCABULARY.values() for words in vocabulary for word in words)
_KNOWN_BY_LENGTH = {n: sorted(word for word in _KNOWN if len(word) == n) for n in {len(word) for word in _KNOWN}}


@functools.lru_cache(maxsize=4096)
def _known(word: str) -> str:
    """``word``, or the one word the rules know a typo away from it (none, or several: ``word``).
    A word of English (one the embedder's vocabulary holds whole) is itself, not a typo: "mayor"
    is no "major", nor "storm" a "story"."""
    if word in _KNOWN or len(word) < TYPO_MIN_LETTERS:
        return word
    near = [
        known
        for n in (len(word) - 1, len(word), len(word) + 1)
        for known in _KNOWN_BY_LENGTH.get(n, ())
        if one_typo_apart(word, known) and word.rstrip("s") != known.rstrip("s")
    ]  # a singular is no typo of its plural: "Which organisation?" asks for one, "organisations?" for all
    # The vocabulary is read only for a word that may be a typo (14 ms, once): most questions have none.
    return near[0] if len(near) == 1 and word not in _english_words() else word


@functools.cache
def _english_words() -> frozenset[str]:
    """The whole words of the embedder's WordPiece vocabulary (22,501 words, English's commonest among them)."""
    from qa.backends import embedder_model_dir  # the embedder's package, found when a typo is suspected

    lines = (embedder_model_dir() / "vocab.txt").read_text(encoding="utf-8").split()
    return frozenset(line for line in lines if line.isalpha())


def one_typo_apart(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with one letter left out, added, changed, or two neighbours swapped.

    >>> [one_typo_apart("organisaitons", "organisations"), one_typo_apart("cuntries", "countries"),
    ...  one_typo_apart("wroote", "wrote"), one_typo_apart("bylien", "byline"), one_typo_apart("dates", "data")]
    [True, True, True, True, False]
    """
    if a == b or abs(len(a) - len(b)) > 1 or a[:1] != b[:1] and a[-1:] != b[-1:]:  # one typo spares an end
        return False
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    if len(a) == len(b):
        return a[first + 1 :] == b[first + 1 :] or a[first : first + 2] == b[first : first + 2][::-1] and a[first + 2 :] == b[first + 2 :]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return shorter[first:] == longer[first + 1 :]


_NUMBER_WORDS = {word: n for n, word in enumerate(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split(), start=1)}
_COUNTED = r"sentences?|lines?|points?|takeaways?|bullets?|things|facts|highlights|ideas|items|bits|insights|findings"
# "in 3 sentences", "five key takeaways", "a two-sentence summary", "the 2 most important points", "top 3":
# a number before what is counted, up to two words between them (none of them "of", "in", ...).
_COUNT = re.compile(
    rf"\b(?:top\s+(\d{{1,3}}|{'|'.join(_NUMBER_WORDS)})\b|(\d{{1,3}}|{'|'.join(_NUMBER_WORDS)})[\s-]+"
    rf"(?:(?!(?:of|in|or|and|to|the|a|an|from|for|about|on|with)\b)[a-z]+[\s-]+){{0,2}}?(?:{_COUNTED})\b)"
)
# "in a sentence or two": at most that many (as "in 2 or 3 sentences" is 3).
_OR_MORE = re.compile(rf"\b(?:a|an|one)\s+(?:sentence|line|point)\s+or\s+(\d{{1,3}}|{'|'.join(_NUMBER_WORDS)})\b")
# "in a sentence", "in a single line", "a one-liner", "one sentence": one.
_ONE = re.compile(r"\b(?:(?:a|an)\s+(?:single\s+|short\s+|quick\s+)?(?:sentence|line)|one[\s-]?liner|single\s+(?:sentence|line))\b")


def count_asked(question: str) -> int | None:
    """How many sentences or points ``question`` asks for ("in one sentence", "3 main points",
    "top five takeaways"), or None where it names no number.

    >>> [count_asked(q) for q in ["Summarize it in one sentence", "Give me the 3 main points", "tl;dr in a line",
    ...  "What are the five key takeaways?", "a two-sentence summary please", "in a sentence or two", "Summarize it",
    ...  "In a few sentences?"]]
    [1, 3, 1, 5, 2, 2, None, None]
    """
    text = question.lower().replace("’", "'")
    if found := _OR_MORE.search(text) or _COUNT.search(text):
        number = next(group for group in found.groups() if group)
        count = int(number) if number.isdigit() else _NUMBER_WORDS[number]
        return count or None
    return 1 if _ONE.search(text) else None


def _refined(kind: str, content: set[str], text: str) -> str | None:
    if kind == SUMMARY and re.search(r"\bwho\b", text):  # "Who is it about?" asks for people
        return PEOPLE
    if kind == PLACES and "place" in content and not re.search(r"\b(take|takes|taking|took) place\b", text):
        return None  # "place" alone is one place asked for
    if kind == SUMMARY and _PLURAL_REFERENCES.search(text):
        return ARCHIVE_SUMMARY
    return kind




class QuestionKinds:
    """The rules, then where they find no kind the classifier trained on their misses' kind of
    phrasing (``qa.training.article_questions``): a logistic regression over the question's
    embedding, loaded on first use from ``directory``.

    ``embed_query`` gives a question's unit vector (``Embedder.embed_query``).
    """

    def __init__(self, embed_query: Callable[[str], np.ndarray], directory: Path = CLASSIFIER_DIR) -> None:
        self.embed_query = embed_query
        self.directory = Path(directory)
        self._model: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None
        self._lock = threading.Lock()

    def kind(self, question: str) -> str | None:
        """``article_question_kind``'s answer, else the classifier's kind if it is confident."""
        if (kind := article_question_kind(question)) is not None:
            return kind
        lowered = question.lower()
        if _SOMEONE.search(lowered) or not CLASSIFIER_MIN_WORDS <= len(_WORDS.findall(lowered)) <= CLASSIFIER_MAX_WORDS:
            return None
        kind = self.classified(question)
        return _refined(kind, set(), lowered) if kind else None

    def classified(self, question: str) -> str | None:
        """The classifier's kind for ``question`` alone (no rules, no gates), if it is confident."""
        coef, intercept, classes, threshold = self._load()
        scores = coef @ self.embed_query(question) + intercept
        probabilities = np.exp(scores - scores.max())
        probabilities /= probabilities.sum()
        best = int(probabilities.argmax())
        return None if classes[best] == SPAN_KIND or probabilities[best] < threshold else str(classes[best])

    def _load(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        with self._lock:
            if self._model is None:
                weights = np.load(self.directory / "classifier.npz")
                card = json.loads((self.directory / "classifier.json").read_text())
                self._model = (weights["coef"], weights["intercept"], weights["classes"], float(card["threshold"]))
            return self._model
