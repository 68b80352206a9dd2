"""Every setting a user or an operator can change, in one tree (``Settings``) with its defaults here
and nowhere else: every ``qa`` command, the chat page, the REST API and ``Assistant`` / ``ask()``
read it. A TOML file changes any of them, given as ``qa --config FILE ...`` or ``QA_CONFIG=FILE``::

    [server]
    port = 8080

    [retrieval]
    top_k = 5

    [article_index.chunking]
    window_sentences = 2

Not here: the reader's calibrated values (its no-answer threshold, its early-answer margin, the
backend they were calibrated on), which are right only for the weights they were measured with and
travel with the model in its ``qa_reader.json`` (``qa.reader.ReaderSettings``).

>>> Settings().server.host, Settings().server.port
('127.0.0.1', 7860)
>>> settings_from_toml("[retrieval]\\ntop_k = 5\\n").retrieval.top_k
5
>>> settings_from_toml("[retrieval]\\ntopk = 5\\n")
Traceback (most recent call last):
...
qa.config.ConfigError: [retrieval] has no setting 'topk': its settings are top_k, archive_top_k, candidates, rrf_k, archive_dense_weight
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import QAError

CONFIG_VARIABLE = "QA_CONFIG"
# The title of an article given as text without one.
PASTED_TITLE = "Pasted article"
# The document id that asks an archive whole rather than one article (the page's "whole archive").
WHOLE_ARCHIVE = "*"

# How a chunk (a window of sentences) is searched (``qa.embedding`` says what each measured): by
# its text's vector, or by the mean of its sentences' vectors.
WINDOW_TEXT = "window-text"
SENTENCE_MEAN = "sentence-mean"
CHUNK_VECTORS = (WINDOW_TEXT, SENTENCE_MEAN)


class ConfigError(QAError, ValueError):
    """A configuration file that can't be read, or names a setting or a value that doesn't exist."""


@dataclass(frozen=True)
class ServerSettings:
    # Local only unless the operator asks otherwise: no share links, no open port by default.
    host: str = "127.0.0.1"
    port: int = 7860


@dataclass(frozen=True)
class AdmissionSettings:
    """The REST API's questions: at most ``in_flight`` answered at once and ``waiting`` more, each
    waiting ``wait_s`` at most; beyond that a 503 with ``Retry-After: retry_after_s``.

    Those answered at once meet in the micro-batches (qa.batching), as the page's queue lets 8 in.
    At ~45 answers/s on 2 cores, 64 waiting is about 1.4 s of work: a request answers, or hears
    "busy", within 2 s (bench/load_test.py --rest; 32 waiting and 1 s sent 9% of 50 clients'
    questions back)."""

    in_flight: int = 8
    waiting: int = 64
    wait_s: float = 1.5
    retry_after_s: int = 1


@dataclass(frozen=True)
class ChunkingConfig:
    """How a document is cut into indexed chunks: windows of sentences, neighbours sharing some.

    The default slides a 3-sentence window one sentence at a time: every sentence is the middle of
    a chunk that carries its neighbours, so a hit is already the reader's context. Measured end to
    end on nyt_news_dev, it keeps more answers in the top 3 than 2-sentence chunks (recall@3 96.1%
    against 94.3%) and hands the reader about a quarter less text than 2-sentence chunks widened
    by a neighbour on each side.
    """

    window_sentences: int = 3
    overlap_sentences: int = 2

    def __post_init__(self) -> None:
        if not 0 <= self.overlap_sentences < self.window_sentences:
            raise ValueError("need 0 <= overlap_sentences < window_sentences")


@dataclass(frozen=True)
class RetrievalSettings:
    top_k: int = 3  # hits handed to the reader
    # Over a whole archive the reader chooses among 10 hits. nyt_news_dev's questions asked of its
    # 100 articles among 18,896 SQuAD paragraphs, hits by weighted fusion, each read alone, the top
    # one first and the others when it isn't confident: reading up to 5, F1 68.2 and the right
    # article 83.4%; up to 10, 69.4 and 84.8% (end to end 68.2, 84.3%; p50 85, p95 380 ms on a slow
    # afternoon, when a 160-token window took 40 ms: the 34% of questions not answered confidently
    # from the top hit read up to 9 more).
    archive_top_k: int = 10
    candidates: int = 20  # taken from each ranking before fusion
    rrf_k: int = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009)
    # Across articles, dense and BM25 are fused by score (``weighted_fusion``), cosine and BM25
    # weighing the same. Reciprocal ranks, as within one article, tie often across articles (a
    # chunk only dense found at rank r against one only BM25 found at rank r) and lose what the
    # scores say: nyt_news_dev's questions among 18,896 SQuAD paragraphs put their right article
    # first 67.1% of the time by RRF, 78.9% by weighted scores (the same on the even and odd half of
    # the articles at dense weights 0.4-0.7; dense alone 53.3%, BM25 alone 73.6%).
    archive_dense_weight: float = 0.5


@dataclass(frozen=True)
class CorpusSettings:
    """How a corpus is built and searched; the embedding recipe (chunking, chunk vectors, BM25
    terms) is recorded in its manifest. The defaults are an archive's; ``ARTICLE_SETTINGS`` an
    article's on its own."""

    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    # How chunk vectors are made (qa.embedding): for an archive, sentence means, 2.3x faster to
    # ingest, the same retrieval on nyt_news_dev; a single article is better served by its
    # windows' own text (the seed's questions: F1 96.4 against 89.8).
    chunk_vectors: str = SENTENCE_MEAN
    # BM25 terms include neighbouring pairs: among 19k articles, BM25 alone puts nyt_news_dev's
    # right article first for 73.6% of questions with pairs, 74.3% without, but fused with dense
    # retrieval 73.5% against 70.2%. Within one article, words alone (as measured since the start).
    bm25_bigrams: bool = True
    # Exact search up to this many chunks (about 30k news articles), above it IVF-PQ (48 bytes a
    # chunk). Measured on nyt_news_dev's 100 articles among 18,896 SQuAD paragraphs (57.5k chunks):
    # exact search puts the right article first for 74.0% of questions, IVF-PQ (nprobe 32, exact
    # re-scoring of 4x the candidates) for 71.2%, for a few ms a question over mapped vectors.
    exact_up_to: int = 100_000
    pq_bytes: int = 48  # 384 dimensions in 48 sub-vectors of 8, one byte each
    # Inverted lists probed a question; the lists number about 4·sqrt(chunks).
    nprobe: int = 32
    # Dense candidates the approximate index hands on, re-scored exactly from the stored vectors.
    rerank_factor: int = 4

    def __post_init__(self) -> None:
        if self.chunk_vectors not in CHUNK_VECTORS:
            raise ValueError(f"chunk_vectors must be one of {CHUNK_VECTORS}, not {self.chunk_vectors!r}")
        if self.exact_up_to < 256:  # product quantisation learns 256 centroids per sub-vector
            raise ValueError(f"exact_up_to must be at least 256, not {self.exact_up_to}")


ARCHIVE_SETTINGS = CorpusSettings()
ARTICLE_SETTINGS = CorpusSettings(chunk_vectors=WINDOW_TEXT, bm25_bigrams=False)


@dataclass(frozen=True)
class IngestSettings:
    """The worker process that indexes uploads and pastes (``qa.ingest``)."""

    threads: int = 1  # model threads of the worker: the other core stays with the questions
    # A 2,000,000-character article (the limit) indexes in about 10 minutes here, at ~60 sentences/s.
    time_limit_s: float = 1200.0
    idle_shutdown_s: float = 300.0  # the worker's memory (~400 MB) is given back after this long idle


@dataclass(frozen=True)
class LibrarySettings:
    # Articles kept in memory at once, counted in characters of text: beyond it the least recently
    # asked are unloaded (and loaded again from disk when asked). An article in memory takes about
    # 50 bytes a character (vectors, chunks, BM25): 10 M characters is about 500 MB.
    loaded_chars_budget: int = 10_000_000


@dataclass(frozen=True)
class Settings:
    """The whole tree: each stage's settings under its own name."""

    server: ServerSettings = field(default_factory=ServerSettings)
    admission: AdmissionSettings = field(default_factory=AdmissionSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    article_index: CorpusSettings = ARTICLE_SETTINGS
    archive_index: CorpusSettings = ARCHIVE_SETTINGS
    ingest: IngestSettings = field(default_factory=IngestSettings)
    library: LibrarySettings = field(default_factory=LibrarySettings)


def load_settings(path: str | Path | None = None) -> Settings:
    """The defaults, changed by the TOML file at ``path``, else at ``$QA_CONFIG`` if set."""
    path = path or os.environ.get(CONFIG_VARIABLE) or None
    if path is None:
        return Settings()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"can't read the configuration file {path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        return settings_from_toml(text)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def settings_from_toml(text: str) -> Settings:
    """The defaults, changed by the TOML ``text``; ConfigError naming what is wrong."""
    import tomllib  # read only when there is a file: nothing more on the way to a first answer

    try:
        tree = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML: {error}") from None
    return _changed(Settings(), tree, "")


def _changed(defaults, changes: dict, where: str):
    """``defaults`` (a settings dataclass) with ``changes`` (a TOML table) applied, checked."""
    fields = {f.name: f for f in dataclasses.fields(defaults)}
    values = {}
    for name, value in changes.items():
        place = f"{where}.{name}" if where else name
        if name not in fields:
            table = f"[{where}]" if where else "the configuration"
            raise ConfigError(f"{table} has no setting {name!r}: its settings are {', '.join(fields)}")
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{place} is a table of settings ([{place}]), not {value!r}")
            values[name] = _changed(default, value, place)
        else:
            values[name] = _checked(place, value, default)
    try:
        return dataclasses.replace(defaults, **values)
    except ValueError as error:
        raise ConfigError(f"[{where}]: {error}") from None


def _checked(place: str, value, default):
    kind = type(default)
    if kind is float and type(value) is int:
        value = float(value)
    if type(value) is not kind:
        raise ConfigError(f"{place} must be {_KIND_NAMES.get(kind, kind.__name__)}, not {value!r}")
    return value


_KIND_NAMES = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}
