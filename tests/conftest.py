"""Shared fixtures. Every test runs offline, with its own index directory and model caches, so no
test sees another's state or the developer's (the ``llm`` project's habit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_ARTICLE = REPO_ROOT / "seeds" / "indus_x.txt"


@pytest.fixture(autouse=True)
def isolated_user_state(tmp_path_factory, monkeypatch):
    """No hub access, and index/ and caches in a fresh temporary directory for each test."""
    home = tmp_path_factory.mktemp("user-state")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("QA_INDEX_DIR", str(home / "index"))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    yield home


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED_ARTICLE.read_text()


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
