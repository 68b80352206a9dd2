"""Shared fixtures. Every test runs offline, with its own index directory and model caches, so no
test sees another's state or the developer's (the ``llm`` project's habit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_ARTICLE = REPO_ROOT / "qa" / "seeds" / "indus_x.txt"


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


@pytest.fixture
def news_dir(tmp_path) -> Path:
    """A folder of six short, unrelated news stories as .txt files."""
    folder = tmp_path / "news"
    folder.mkdir()
    for name, text in NEWS.items():
        (folder / name).write_text(text)
    return folder
