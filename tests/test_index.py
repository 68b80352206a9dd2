"""The persisted index: round trip, stale and corrupted indexes rebuilt, atomic builds."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

from qa.chunking import ChunkingConfig
from qa.documents import Document, document_from_text
from qa.errors import DocumentError
from qa.index import CURRENT_FILE, IndexSettings, IndexStore


class HashingEmbedder:
    """Deterministic fake: bag of words hashed into 64 dimensions, normalised; counts its calls."""

    id = "fake-hashing"
    dimension = 64

    def __init__(self):
        self.calls = 0

    def embed(self, texts, progress=False):
        self.calls += 1
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, sum(map(ord, word)) % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


@pytest.fixture
def document(seed_text):
    return document_from_text(seed_text, "INDUS-X")


def version_dir(store, document):
    home = store.root / document.id
    return home / (home / CURRENT_FILE).read_text()


def test_round_trip_loads_without_embedding_again(tmp_path, document):
    embedder = HashingEmbedder()
    built = IndexStore(tmp_path, embedder).load_or_build(document)
    assert embedder.calls == 1 and len(built.chunks) == 18  # 19 sentences, windows of 2 sharing 1
    fresh = HashingEmbedder()
    loaded = IndexStore(tmp_path, fresh).load_or_build(document)
    assert fresh.calls == 0
    assert loaded.chunks == built.chunks and loaded.sentences == built.sentences
    manifest = loaded.manifest
    assert manifest["embedder"] == "fake-hashing" and manifest["faiss_type"] == "IndexFlatIP"
    assert manifest["chunking"] == {"window_sentences": 2, "overlap_sentences": 1}
    assert {"faiss-cpu", "sentence-transformers", "article-qa"} <= set(manifest["versions"])


def test_changed_text_or_settings_rebuild(tmp_path, document, caplog):
    IndexStore(tmp_path, HashingEmbedder()).load_or_build(document)
    changed = document_from_text(document.text + " One more sentence.", "INDUS-X")
    embedder = HashingEmbedder()
    IndexStore(tmp_path, embedder).load_or_build(changed)  # new content, new document id: built
    assert embedder.calls == 1
    embedder = HashingEmbedder()
    settings = IndexSettings(chunking=ChunkingConfig(window_sentences=3, overlap_sentences=1))
    with caplog.at_level(logging.WARNING):
        index = IndexStore(tmp_path, embedder, settings).load_or_build(document)
    assert embedder.calls == 1 and "stale (chunking changed)" in caplog.text
    assert all(c.last - c.first == 2 for c in index.chunks[:-1])


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: (d / "chunks.json").write_bytes(b"X" + (d / "chunks.json").read_bytes()[1:]), "corrupted"),
        (lambda d: (d / "faiss.index").write_bytes((d / "faiss.index").read_bytes()[:100]), "truncated"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "unreadable manifest"),
        (lambda d: (d / "faiss.index").unlink(), "missing faiss.index"),
    ],
)
def test_damaged_index_is_rebuilt_with_a_log_line(tmp_path, document, caplog, damage, reason):
    store = IndexStore(tmp_path, HashingEmbedder())
    store.load_or_build(document)
    damage(version_dir(store, document))
    embedder = HashingEmbedder()
    with caplog.at_level(logging.WARNING):
        index = IndexStore(tmp_path, embedder).load_or_build(document)
    assert embedder.calls == 1 and reason in caplog.text
    assert len(index.chunks) == 18
    assert IndexStore(tmp_path, HashingEmbedder()).load(document).chunks == index.chunks  # whole again


def test_a_killed_build_leaves_the_old_index(tmp_path, document, monkeypatch):
    store = IndexStore(tmp_path, HashingEmbedder())
    old = store.load_or_build(document)

    def killed(*args):
        raise KeyboardInterrupt("killed while switching versions")

    monkeypatch.setattr(os, "replace", killed)  # dies after writing the new version, before the switch
    with pytest.raises(KeyboardInterrupt):
        store.build(document)
    monkeypatch.undo()
    fresh = HashingEmbedder()
    assert IndexStore(tmp_path, fresh).load_or_build(document).chunks == old.chunks
    assert fresh.calls == 0  # the old version is still live and whole


def test_approximate_index_above_the_threshold(tmp_path, document):
    index = IndexStore(tmp_path, HashingEmbedder(), IndexSettings(approximate_above=5)).load_or_build(document)
    assert index.manifest["faiss_type"] == "IndexHNSWFlat"
    target = 7
    query = HashingEmbedder().embed([index.chunks[target].text])[0]
    hits = index.search(query, 3)
    assert hits[0][0] == target and hits[0][1] == pytest.approx(1.0, abs=1e-4)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_search_caps_k(tmp_path):
    doc = document_from_text("One fact. Two facts.", "tiny")
    index = IndexStore(tmp_path, HashingEmbedder()).load_or_build(doc)
    assert len(index.search(HashingEmbedder().embed(["fact"])[0], 10)) == len(index.chunks) == 1


def test_empty_document_has_no_index(tmp_path):
    doc = Document(id="blank", title="blank", text=" \n\n ")  # past document_from_text's own check
    with pytest.raises(DocumentError, match="no sentences"):
        IndexStore(tmp_path, HashingEmbedder()).build(doc)


def test_real_embedder_finds_the_focus_sentence(tmp_path, document, embedder):
    index = IndexStore(tmp_path, embedder).load_or_build(document)
    (best, _), *_ = index.search(embedder.embed(["What is INDUS-X focused on?"])[0], 3)
    assert "high-tech cooperation" in index.chunks[best].text
