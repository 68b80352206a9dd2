"""What the assistant answers: an ``Answer``, its ``Alternative`` candidates, the ``Passage``s it
read, and the ``Citation``s of an answer about the whole article; each says where its text is
with one offset type, a ``Context``, as do retrieval's hits and a conversation's turns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SPAN = "span"
SUMMARY = "summary"  # its citations read as one paragraph; those of other kinds as a list
VERDICT = "verdict"  # a yes/no question or a claim checked: ``Answer.verdict`` says how it stands


@dataclass(frozen=True)
class Context:
    """Where a piece of text is: ``text[start:end]`` of the article ``document_id``. The one
    offset type: a retrieval hit's context, a passage read, an answer and its sentence, an
    alternative, a citation and a conversation's turn each say where they are with one.

    >>> answer, sentence = Context("ferry", 7, 10), Context("ferry", 0, 12)
    >>> answer.of("Ferry: Ana won."), sentence.holds(answer), answer.holds(sentence)
    ('Ana', True, False)
    """

    document_id: str
    start: int
    end: int

    def of(self, text: str) -> str:
        """This piece of ``text``, the text of the article ``document_id``."""
        return text[self.start : self.end]

    def holds(self, other: Context) -> bool:
        """True when ``other`` lies within this piece of the same article."""
        return other.document_id == self.document_id and self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class Citation:
    """A piece of an article an answer rests on, at ``span`` inside the sentence ``sentence_span``:
    a cited sentence (``text`` is that sentence), or a name's first mention (``text`` is the name
    in its longest form: "Lloyd J Austin III" where the article first says "Austin")."""

    text: str
    span: Context
    sentence_span: Context
    # The article cited, when it is not the answer's own: the articles of an archive's summary.
    document_title: str = ""


@dataclass(frozen=True)
class Alternative:
    """Another candidate answer: its text at ``span``, its confidence and its sentence."""

    text: str
    score: float
    sentence: str
    span: Context


@dataclass(frozen=True)
class Passage:
    """A passage the reader read for the question (its text, at ``span``), with the best span it
    found there and that span's confidence: why the answer is what it is."""

    text: str
    span: Context
    best: str
    score: float


# What a reply of each shape says it can't find ("The article doesn't say why.").
_NOT_SAID = {VERDICT: "", "why": "why", "how": "how", "quote": "what was said", "count": "how many", "list": "which ones"}


@dataclass(frozen=True)
class Answer:
    """The answer to one question about one document.

    ``text`` is the article's text at ``span``, inside ``sentence`` (at ``sentence_span``). When
    the article doesn't say, ``answerable`` is False, ``text`` is "", ``span`` is None and
    ``sentence`` is the closest sentence found. ``score`` is the chance that the answer is right
    (``qa.answer_check``: of the answers given at 0.8, about 8 in 10 are right); when declined,
    the chance that the closest span would have been. A reply in another shape (a verdict, a
    reason, a count...) shows the share of such replies found right.
    """

    question: str
    text: str
    score: float
    answerable: bool
    sentence: str
    span: Context | None
    sentence_span: Context | None
    document_id: str
    document_title: str
    alternatives: tuple[Alternative, ...] = field(default_factory=tuple)
    # The question as the reader read it, when that differs from ``question``: a follow-up with
    # its references resolved, or a question longer than the reader takes cut to its beginning.
    understood_as: str | None = None
    # What was asked: "span" (a fact, answered by a span), or a question about the whole article
    # (``qa.article_questions.KINDS``: "summary", "people", ...), answered by ``citations``: the
    # article's own sentences, or names each cited at its first mention. ``text`` then joins them.
    kind: str = SPAN
    citations: tuple[Citation, ...] = field(default_factory=tuple)
    # Where the article comes from, as its page said ("Harbour News, 2024-10-21, by Ana Silva"), if it did.
    document_byline: str = ""
    # The passages read, in the order they were read, each with its best span.
    read: tuple[Passage, ...] = field(default_factory=tuple)
    # A yes/no question or a claim (kind "verdict"): "yes", "no" or "not stated"; None otherwise.
    verdict: str | None = None

    @property
    def source(self) -> str:
        """Which article the answer comes from: "from <title> — <site>, <date>".

        >>> Answer("Who?", "Ana", 0.9, True, "Ana won.", Context("d", 0, 3), Context("d", 0, 8), "d", "Ferry",
        ...        document_byline="Harbour News, 2024-10-21").source
        'from Ferry — Harbour News, 2024-10-21'
        """
        return f"from {self.document_title}" + (f" — {self.document_byline}" if self.document_byline else "")

    @property
    def question_was_cut(self) -> bool:
        """True when the question was too long for the reader, which read its beginning."""
        return self.understood_as is not None and self.question.startswith(self.understood_as)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        """One line: the answer, its sentence and the confidence, or that the article doesn't say.

        >>> print(Answer("When?", "Sunday", 0.98, True, "He arrived on Sunday.", Context("d", 14, 20), Context("d", 0, 21), "d", "T"))
        Sunday — He arrived on Sunday. (0.98)
        """
        if not self.answerable:
            if self.kind == SPAN:
                return f"The article doesn't say. Closest: {self.sentence} ({self.score:.2f})"
            return f"The article doesn't say {_NOT_SAID.get(self.kind, '')}".rstrip() + "."
        if self.kind in (SUMMARY, "elaborate"):
            return self.text
        if self.citations:
            return "\n".join(f"- {citation.text}" for citation in self.citations)
        if self.kind == "quote":
            return f"\u201c{self.text}\u201d — {self.sentence} ({self.score:.2f})"
        return f"{self.text} — {self.sentence} ({self.score:.2f})"

    def _repr_html_(self) -> str:
        """A notebook shows the answer in bold inside its sentence, with the confidence."""
        from qa.render import answer_card  # html rendering, loaded when a notebook asks

        return answer_card(self)
