"""Shared fixtures. Every test runs offline, with its own index directory and model caches, so no
test sees another's state or the developer's (the ``llm`` project's habit)."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_ARTICLE = REPO_ROOT / "qa" / "seeds" / "indus_x.txt"


# Fixtures that load a real model, start a process (an indexing worker, a server, a browser, Ray) or
# parse with spaCy: a test that uses one is slow, whatever it asserts. Tests that load or start
# such things themselves carry @pytest.mark.slow.
SLOW_FIXTURES = frozenset({
    "reader", "embedder", "fp32_reader", "seed_assistant", "assistant", "ingestor", "server", "api",
    "browser", "page", "archive_server", "ray_session", "nlp", "generator",
})


# Docstring examples that run the real models (the rest are pure and fast).
SLOW_DOCTESTS = frozenset({"qa", "qa.pipeline", "qa.reader", "qa.conversation.Conversation"})


def pytest_collection_modifyitems(items):
    """``slow`` on every test that uses a slow fixture or runs a model in its docstring example
    (``-m "not slow"``: the fast tier)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.name in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def fast_tests_load_no_model(request, monkeypatch):
    """A test not marked slow that loads a real model fails, saying so: the fast tier stays fast."""
    if request.node.get_closest_marker("slow") is not None:
        return

    def refuse(*args, **kwargs):
        raise AssertionError(f"{request.node.nodeid} loads a real model: mark it @pytest.mark.slow or use a fake")

    import qa.backends
    import qa.entities

    monkeypatch.setattr(qa.backends, "onnx_session", refuse)
    monkeypatch.setattr(qa.entities, "load_pipeline", refuse)
    monkeypatch.setattr(qa.backends.TorchReaderModel, "__init__", refuse)
    monkeypatch.setattr(qa.backends.TorchSentenceEncoder, "__init__", refuse)


@pytest.fixture(autouse=True)
def isolated_user_state(tmp_path_factory, monkeypatch):
    """No hub access, and index/ and caches in a fresh temporary directory for each test."""
    home = tmp_path_factory.mktemp("user-state")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("QA_INDEX_DIR", str(home / "index"))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.delenv("QA_BACKEND", raising=False)  # each test on the default backend unless it says
    monkeypatch.delenv("QA_CONFIG", raising=False)  # and on the default settings
    yield home


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED_ARTICLE.read_text()


@pytest.fixture(scope="session")
def seed_questions(seed_text):
    """The project's own questions on the seed article (tests/data/seed_questions.json), as SQuAD
    questions: each answerable one with every span accepted, three the article doesn't answer."""
    from qa.training.squad import Question

    rows = json.loads((Path(__file__).parent / "data" / "seed_questions.json").read_text())["questions"]
    return [
        Question(f"seed-{n}", row["question"], seed_text, tuple(row["answers"]),
                 tuple(seed_text.index(a) for a in row["answers"]), "INDUS-X",
                 category="known miss" if "known_miss" in row else "")
        for n, row in enumerate(rows)
    ]


@pytest.fixture(scope="session")
def reader():
    """The shipped reader, loaded once for the whole session."""
    from qa.reader import Reader

    return Reader()


@pytest.fixture(scope="session")
def embedder():
    from qa.embedding import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def seed_assistant(reader, embedder, tmp_path_factory):
    """An assistant over the seed article, with the shipped models; shared: ask, never add."""
    from qa.library import seed_document
    from qa.pipeline import Assistant

    assistant = Assistant(tmp_path_factory.mktemp("index"), reader=reader, embedder=embedder)
    assistant.add(seed_document())
    return assistant


def write_squad(path: Path, paragraphs: list[tuple[str, list[tuple[str, str, list[str]]]]], version="v2.0"):
    """A small SQuAD file: paragraphs of (context, [(id, question, [answer texts])]); an empty answer
    list makes an unanswerable question. Offsets are found in the context."""
    data = []
    for context, questions in paragraphs:
        qas = []
        for qid, question, answers in questions:
            entry = {
                "id": qid,
                "question": question,
                "answers": [{"text": a, "answer_start": context.index(a)} for a in answers],
            }
            if version == "v2.0":
                entry["is_impossible"] = not answers
            qas.append(entry)
        data.append({"context": context, "qas": qas})
    payload = {"version": version, "data": [{"title": "Test article", "paragraphs": data}]}
    if path.suffix == ".gz":
        import gzip

        with gzip.open(path, "wt", encoding="utf-8") as handle:
            json.dump(payload, handle)
    else:
        path.write_text(json.dumps(payload))
    return path


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole session, as small as this machine: ray.init(num_cpus=2)."""
    import logging

    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    yield ray
    ray.shutdown()


NEWS = {
    "harbour.txt": (
        "Harbour reopens after storm\n\n"
        "The port of Valdora reopened on Tuesday after Storm Imogen closed it for four days. "
        "Harbour master Elena Ruiz said 32 ships had waited offshore. "
        "Repairs to the north pier will cost 2.4 million euros."
    ),
    "chess.txt": (
        "Teenager wins national chess title\n\n"
        "Fifteen-year-old Tomas Berg won the national chess championship in Oslo on Sunday. "
        "He beat the defending champion in a rapid tiebreak. "
        "Berg began playing at the age of six at his grandfather's club."
    ),
    "bridge.txt": (
        "City approves new bridge\n\n"
        "The council of Marlow voted 9 to 2 to build a footbridge over the river Lune. "
        "Construction starts in March and should take eighteen months. "
        "The bridge was designed by the architect Priya Nair."
    ),
    "orchard.txt": (
        "Apple harvest breaks records\n\n"
        "Growers in the Kessel valley picked 41,000 tonnes of apples this autumn. "
        "A warm spring and late rain helped, said the growers' union chair, Jonas Ek. "
        "Most of the crop will be sold as juice."
    ),
    "library.txt": (
        "Library lends out telescopes\n\n"
        "The public library of Brinford now lends telescopes for two weeks at a time. "
        "The scheme was started by the astronomer Ada Quist, who donated twelve instruments. "
        "The waiting list already has 300 names."
    ),
    "rail.txt": (
        "Night train returns\n\n"
        "A night train between Lisbon and Madrid will run again from June, the operator said. "
        "The service was cancelled in 2020. "
        "Tickets for a sleeper cabin start at 89 euros."
    ),
}


# Each story's title, as read from its file: its headline (the first line, a line of its own).
HEADLINES = {name.removesuffix(".txt"): text.split("\n", 1)[0] for name, text in NEWS.items()}


@pytest.fixture
def news_dir(tmp_path) -> Path:
    """A folder of six short, unrelated news stories as .txt files."""
    folder = tmp_path / "news"
    folder.mkdir()
    for name, text in NEWS.items():
        (folder / name).write_text(text)
    return folder


# --- shared fakes: the seams (embedder, reader model) without a model behind them ---------------


class HashingEmbedder:
    """Deterministic fake embedder: bag of words hashed into 384 dimensions, normalised. Counts its
    calls, remembers whether it was asked for a progress bar, and can die mid-build like a killed
    process."""

    dimension = 384

    def __init__(self, id: str = "fake-hashing", die: bool = False):
        self.id = id
        self.die = die
        self.calls = 0
        self.progress: list[bool] = []

    def embed(self, texts, progress=False):
        self.calls += 1
        self.progress.append(progress)
        if self.die:
            raise KeyboardInterrupt("killed while embedding")
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, zlib.crc32(word.encode()) % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

    def embed_query(self, text):
        return self.embed([text])[0]


class KeywordEmbedder:
    """Deterministic fake embedder: one dimension per keyword, so "similar" means "shares a keyword"."""

    id = "fake-keywords"
    keywords = ("launch", "engine", "twitter", "roadmap", "sunday")
    dimension = len(keywords) + 1

    def embed(self, texts, progress=False):
        rows = []
        for text in texts:
            row = [float(k in text.lower()) for k in self.keywords] + [0.01]
            rows.append(np.array(row) / np.linalg.norm(row))
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dimension)

    def embed_query(self, text):
        return self.embed([text])[0]


class FixedLogitsReaderModel:
    """Fake reader model (``qa.backends.ReaderModel``) with fixed logits: in every window, the first
    run of ``answer_ids`` in the context scores ``score`` at its first token (start) and its last
    (end), [CLS] scores ``no_answer``, every other token -10. Records the windows it was given."""

    rows_per_run = 4

    def __init__(self, answer_ids: list[int], score: float = 8.0, no_answer: float = 0.0):
        self.answer_ids, self.score, self.no_answer = list(answer_ids), score, no_answer
        self.windows: list[list[int]] = []

    def logits(self, inputs):
        ids, types = inputs["input_ids"], inputs["token_type_ids"]
        start = np.full(ids.shape, -10.0, dtype=np.float32)
        end = start.copy()
        start[:, 0] = end[:, 0] = self.no_answer / 2
        width = len(self.answer_ids)
        for row in range(ids.shape[0]):
            self.windows.append(ids[row].tolist())
            for at in range(ids.shape[1] - width + 1):
                if types[row, at] == 1 and ids[row, at : at + width].tolist() == self.answer_ids:
                    start[row, at] = end[row, at + width - 1] = self.score / 2
                    break
        return start, end


def fake_reader(answer: str, **logits) -> tuple:
    """A ``qa.Reader`` over the shipped tokenizer whose model is a ``FixedLogitsReaderModel``
    answering ``answer`` wherever a context holds it: the real tokenising, windows and span decoding,
    no model. Returns (reader, model)."""
    from tokenizers import Tokenizer

    from qa.reader import DEFAULT_READER_DIR, Reader

    tokenizer = Tokenizer.from_file(str(DEFAULT_READER_DIR / "tokenizer.json"))
    model = FixedLogitsReaderModel(tokenizer.encode(answer, add_special_tokens=False).ids, **logits)
    return Reader.with_model(model, tokenizer), model
