"""What the assistant answers: an ``Answer``, its ``Alternative`` candidates, the ``Passage``s it
read, and the ``Citation``s of an answer about the whole article."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SPAN = "span"
SUMMARY = "summary"  # its citations read as one paragraph; those of other kinds as a list


@dataclass(frozen=True)
class Citation:
    """A piece of the article an answer rests on, at ``document.text[start:end]`` inside the sentence
    ``document.text[sentence_start:sentence_end]``: a cited sentence (``text`` is that sentence), or
    a name's first mention (``text`` is the name in its longest form: "Lloyd J Austin III" where
    the article first says "Austin")."""

    text: str
    start: int
    end: int
    sentence_start: int
    sentence_end: int
    # The article cited, when it is not the answer's own: the articles of an archive's summary.
    document_id: str = ""
    document_title: str = ""


@dataclass(frozen=True)
class Alternative:
    """Another candidate answer, with the same fields as the main one."""

    text: str
    score: float
    sentence: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A passage the reader read for the question (``document.text[start:end]``), with the best
    span it found there and that span's confidence: why the answer is what it is."""

    text: str
    start: int
    end: int
    document_id: str
    best: str
    score: float


@dataclass(frozen=True)
class Answer:
    """The answer to one question about one document.

    ``text == document.text[start:end]`` inside ``sentence``. When the article doesn't say,
    ``answerable`` is False, ``text`` is "", ``start``/``end`` are None and ``sentence`` is the
    closest sentence found. ``score`` is a confidence in [0, 1], 0.5 at the abstention threshold.
    """

    question: str
    text: str
    score: float
    answerable: bool
    sentence: str
    sentence_start: int | None
    sentence_end: int | None
    start: int | None
    end: int | None
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

    @property
    def source(self) -> str:
        """Which article the answer comes from: "from <title> — <site>, <date>".

        >>> Answer("Who?", "Ana", 0.9, True, "Ana won.", 0, 8, 0, 3, "d", "Ferry", document_byline="Harbour News, 2024-10-21").source
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

        >>> print(Answer("When?", "Sunday", 0.98, True, "He arrived on Sunday.", 0, 21, 14, 20, "d", "T"))
        Sunday — He arrived on Sunday. (0.98)
        """
        if not self.answerable:
            return "The article doesn't say." if self.kind != SPAN else f"The article doesn't say. Closest: {self.sentence} ({self.score:.2f})"
        if self.kind == SUMMARY:
            return self.text
        if self.kind != SPAN:
            return "\n".join(f"- {citation.text}" for citation in self.citations)
        return f"{self.text} — {self.sentence} ({self.score:.2f})"

    def _repr_html_(self) -> str:
        """A notebook shows the answer in bold inside its sentence, with the confidence."""
        from qa.render import answer_card  # html rendering, loaded when a notebook asks

        return answer_card(self)
