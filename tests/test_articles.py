"""Single articles, each a corpus of one: round trip, stale and damaged ones rebuilt, builds that die halfway."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3

import faiss
import numpy as np
import pytest
from conftest import HashingEmbedder

from qa.articles import ArticleStore
from qa.config import ARTICLE_SETTINGS, ChunkingConfig, CorpusSettings
from qa.documents import Document, document_from_text
from qa.errors import DocumentError
from qa.store import STORE_FORMAT
from qa.store_build import prepare, update_corpus


@pytest.fixture
def document(seed_text):
    return document_from_text(seed_text, "INDUS-X")


def edited(document: Document) -> Document:
    """The same document (same id, as when a file is edited in place) with one more sentence."""
    return Document(document.id, document.title, document.text + " One more sentence.", document.source)


def version_dir(root, document):
    home = root / document.id
    return home / (home / "CURRENT").read_text()


def assert_loads_without_embedding(root, document, settings=ARTICLE_SETTINGS):
    embedder = HashingEmbedder()
    index = ArticleStore(root, embedder, settings).load_or_build(document)
    assert embedder.calls == 0, "a whole, current index must load from disk"
    return index


def assert_only_live_version(root, document):
    """After a successful build only CURRENT, the version it names and the build lock's file are
    left: no debris."""
    home = root / document.id
    assert sorted(p.name for p in home.iterdir()) == sorted(["CURRENT", ".build.lock", version_dir(root, document).name])
    assert sorted(p.name for p in version_dir(root, document).iterdir()) == [
        "archive.sqlite", "bm25_data.npy", "bm25_indices.npy", "bm25_indptr.npy", "faiss.index", "manifest.json", "vectors.npy",
    ]


# An article's build embeds its windows, then its sentences (for their centrality).
EMBEDS_PER_BUILD = 2


def warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "qa.articles" and r.levelno >= logging.WARNING]


def test_round_trip_loads_without_embedding_again(tmp_path, document):
    embedder = HashingEmbedder()
    built = ArticleStore(tmp_path, embedder).load_or_build(document)
    # 19 sentences, windows of 3 sliding by 1, and each sentence's centrality.
    assert embedder.calls == EMBEDS_PER_BUILD and len(built.chunks) == 17 and len(built.centrality) == 19
    assert embedder.progress == [False, False]  # no progress bar for an article this short
    assert_only_live_version(tmp_path, document)

    loaded = assert_loads_without_embedding(tmp_path, document)
    assert loaded.chunks == built.chunks and loaded.sentences == built.sentences
    assert all(document.text[c.start : c.end] == c.text for c in loaded.chunks)
    assert loaded.document == document and loaded.document.meta == document.meta
    query = HashingEmbedder().embed(["joint research and production"])[0]
    assert [i for i, _ in loaded.search(query, 5)] == [i for i, _ in built.search(query, 5)]

    manifest = loaded.manifest
    assert manifest == json.loads((version_dir(tmp_path, document) / "manifest.json").read_text())
    assert manifest["format_version"] == STORE_FORMAT and manifest["embedder"] == "fake-hashing"
    assert manifest["dimension"] == 384 and manifest["chunks"] == 17 and manifest["documents"] == 1
    assert manifest["faiss"] == "fp16"
    # The recipe of a single article: its windows' own text, BM25 over words.
    assert manifest["chunking"] == {"window_sentences": 3, "overlap_sentences": 2}
    assert manifest["chunk_vectors"] == "window-text" and manifest["bm25_bigrams"] is False
    assert all(set(entry) == {"size", "sha256"} for entry in manifest["files"].values())
    assert manifest["built_at"].endswith("+00:00")


def test_an_articles_metadata_is_kept(tmp_path):
    document = document_from_text("Austin met Singh in Delhi. They spoke of engines.", "Talks", meta={"author": "A. Writer", "date": "2023-06-05"})
    ArticleStore(tmp_path, HashingEmbedder()).load_or_build(document)
    assert assert_loads_without_embedding(tmp_path, document).document.meta == {"author": "A. Writer", "date": "2023-06-05"}


@pytest.mark.parametrize(
    ("edit", "settings", "embedder_id", "reason"),
    [
        (edited, ARTICLE_SETTINGS, "fake-hashing", "stale (content changed)"),
        (lambda doc: doc, CorpusSettings(ChunkingConfig(3, 1), chunk_vectors="window-text", bm25_bigrams=False), "fake-hashing", "stale (chunking changed)"),
        (lambda doc: doc, CorpusSettings(chunk_vectors="sentence-mean", bm25_bigrams=False), "fake-hashing", "stale (chunk vectors changed)"),
        (lambda doc: doc, ARTICLE_SETTINGS, "another-model", "stale (embedder changed)"),
    ],
    ids=["text", "chunking", "recipe", "embedder"],
)
def test_what_changed_is_rebuilt(tmp_path, document, caplog, edit, settings, embedder_id, reason):
    ArticleStore(tmp_path, HashingEmbedder()).load_or_build(document)
    changed_document, embedder = edit(document), HashingEmbedder(embedder_id)
    with caplog.at_level(logging.INFO, logger="qa.articles"):
        index = ArticleStore(tmp_path, embedder, settings).load_or_build(changed_document)
    assert embedder.calls == (1 if settings.chunk_vectors == "sentence-mean" else EMBEDS_PER_BUILD)  # built again
    assert len(warnings(caplog)) == 1 and reason in warnings(caplog)[0]
    assert index.manifest["chunking"] == {
        "window_sentences": settings.chunking.window_sentences,
        "overlap_sentences": settings.chunking.overlap_sentences,
    }
    assert all(changed_document.text[c.start : c.end] == c.text for c in index.chunks)
    assert_only_live_version(tmp_path, document)


def flip_bytes(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def swap_in_another_article(directory):
    """A whole, valid corpus, but of another article, where this one's should be."""
    other = document_from_text("Another article entirely. It has two sentences.", "Other")
    shutil.rmtree(directory.parent)
    update_corpus(directory.parent, HashingEmbedder(), prepare([other], HashingEmbedder(), ARTICLE_SETTINGS), settings=ARTICLE_SETTINGS)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: flip_bytes(d / "vectors.npy"), "damaged (vectors.npy checksum mismatch)"),
        (lambda d: flip_bytes(d / "faiss.index"), "damaged (faiss.index checksum mismatch)"),
        (lambda d: truncate(d / "archive.sqlite"), "damaged (archive.sqlite has 100 bytes"),
        (lambda d: (d / "manifest.json").write_bytes(b"\x00garbage{"), "unreadable (JSONDecodeError"),
        (lambda d: (d / "manifest.json").write_text("[1, 2, 3]"), "unreadable (AttributeError"),
        (lambda d: (d / "manifest.json").unlink(), "unreadable (FileNotFoundError"),
        (lambda d: (d / "faiss.index").unlink(), "unreadable (FileNotFoundError"),
        (lambda d: (d.parent / "CURRENT").write_text("../../x"), "CURRENT names no version folder"),
        (lambda d: (d.parent / "CURRENT").write_bytes(b"\xff\xfe\x00\x01"), "unreadable"),
        (shutil.rmtree, "CURRENT names no version folder"),
        (swap_in_another_article, "damaged (it holds ['other-"),
    ],
    ids=[
        "flipped-vectors", "flipped-faiss", "truncated-store", "garbage-manifest", "list-manifest",
        "no-manifest", "no-faiss", "bad-pointer", "binary-pointer", "no-version-dir", "another-article",
    ],
)
def test_a_damaged_index_is_rebuilt_with_one_warning(tmp_path, document, caplog, damage, reason):
    built = ArticleStore(tmp_path, HashingEmbedder()).load_or_build(document)
    damage(version_dir(tmp_path, document))
    embedder = HashingEmbedder()
    with caplog.at_level(logging.INFO, logger="qa.articles"):
        index = ArticleStore(tmp_path, embedder).load_or_build(document)
    assert embedder.calls == EMBEDS_PER_BUILD
    assert len(warnings(caplog)) == 1 and reason in warnings(caplog)[0], warnings(caplog)
    assert document.title in warnings(caplog)[0] and warnings(caplog)[0].endswith(": rebuilding")
    assert index.chunks == built.chunks
    assert assert_loads_without_embedding(tmp_path, document).chunks == built.chunks  # whole again
    assert_only_live_version(tmp_path, document)


def test_a_first_build_is_not_a_warning(tmp_path, document, caplog):
    with caplog.at_level(logging.INFO, logger="qa.articles"):
        ArticleStore(tmp_path, HashingEmbedder()).load_or_build(document)
    assert warnings(caplog) == [] and "no index for 'INDUS-X' yet: building" in caplog.text


def _killed(*args, **kwargs):
    raise KeyboardInterrupt("killed")


@pytest.mark.parametrize("killed_at", ["embedding", "rename-into-place", "pointer-switch"])
def test_a_build_killed_halfway_leaves_the_old_index(tmp_path, document, monkeypatch, killed_at):
    old = ArticleStore(tmp_path, HashingEmbedder()).load_or_build(document)
    new_content = edited(document)
    if killed_at == "rename-into-place":  # every file written, the version not yet in place
        monkeypatch.setattr(os, "rename", _killed)
    elif killed_at == "pointer-switch":  # the version in place, CURRENT not yet switched to it
        monkeypatch.setattr(os, "replace", _killed)
    with pytest.raises(KeyboardInterrupt):
        ArticleStore(tmp_path, HashingEmbedder(die=killed_at == "embedding")).build(new_content)
    monkeypatch.undo()

    assert assert_loads_without_embedding(tmp_path, document).chunks == old.chunks
    embedder = HashingEmbedder()
    new = ArticleStore(tmp_path, embedder).load_or_build(new_content)
    assert embedder.calls == EMBEDS_PER_BUILD and len(new.chunks) == len(old.chunks) + 1
    assert assert_loads_without_embedding(tmp_path, new_content).chunks == new.chunks
    assert_only_live_version(tmp_path, document)  # the killed build's debris is gone


def test_an_index_from_before_the_corpus_store_is_rebuilt_with_a_sentence(tmp_path, document, caplog):
    """A per-article index of the old layout (format 3: chunks.json, document.json)."""
    old = tmp_path / document.id / "v20261201T000000-0123abcd"
    old.mkdir(parents=True)
    (old / "chunks.json").write_text("{}")
    (old / "manifest.json").write_text(json.dumps({"format_version": 3, "embedder": "fake-hashing", "files": {"chunks.json": {}}}))
    (tmp_path / document.id / "CURRENT").write_text(old.name)
    with caplog.at_level(logging.INFO, logger="qa.articles"):
        index = ArticleStore(tmp_path, HashingEmbedder()).load_or_build(document)
    assert len(index.chunks) == 17 and "stale (format version" in warnings(caplog)[0]
    assert_only_live_version(tmp_path, document)


def test_a_stored_article_is_searched_exactly(tmp_path, document):
    """Its vectors are stored in float16 and searched exactly: a chunk's own vector finds it first."""
    loaded = ArticleStore(tmp_path, HashingEmbedder()).load_or_build(document)
    assert isinstance(loaded.faiss_index, faiss.IndexFlatIP)
    for target in (0, 7, 16):
        hits = loaded.search(HashingEmbedder().embed([loaded.chunks[target].text])[0], 3)
        assert hits[0][0] == target and hits[0][1] == pytest.approx(1.0, abs=1e-3)
    stored = np.load(version_dir(tmp_path, document) / "vectors.npy")
    assert stored.dtype == np.float16 and stored.shape == (17, 384)
    with sqlite3.connect(version_dir(tmp_path, document) / "archive.sqlite") as store:
        assert store.execute("SELECT id, title FROM documents").fetchall() == [(document.id, "INDUS-X")]


def test_search_is_best_first_and_k_is_capped(tmp_path, document):
    index = ArticleStore(tmp_path, HashingEmbedder()).load_or_build(document)
    hits = index.search(HashingEmbedder().embed(["defence production in India"])[0], 100)
    assert len(hits) == len(index.chunks) == 17
    assert sorted(i for i, _ in hits) == list(range(17))
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert all(-1.0001 <= s <= 1.0001 for _, s in hits)
    assert index.search(HashingEmbedder().embed(["defence"])[0], 0) == []


def test_a_long_document_shows_a_progress_bar(tmp_path):
    doc = document_from_text(" ".join(f"Fact number {n} is here." for n in range(250)), "long")
    embedder = HashingEmbedder()
    index = ArticleStore(tmp_path, embedder).load_or_build(doc)
    assert len(index.chunks) > 200 and embedder.progress == [True, True]  # its windows, then its sentences


def test_a_document_without_sentences_has_no_index(tmp_path):
    doc = Document(id="blank", title="blank", text=" \n\n ")  # past document_from_text's own check
    embedder = HashingEmbedder()
    with pytest.raises(DocumentError, match="no sentences"):
        ArticleStore(tmp_path, embedder).load_or_build(doc)
    assert embedder.calls == 0 and not (tmp_path / "blank").exists()


def test_real_embedder_finds_the_focus_sentence(tmp_path, document, embedder):
    """The real all-MiniLM-L6-v2 (conftest's session fixture: loaded once for all tests)."""
    index = ArticleStore(tmp_path, embedder).load_or_build(document)
    assert index.manifest["embedder"] == embedder.id and index.manifest["dimension"] == 384
    (best, score), *_ = index.search(embedder.embed(["What is INDUS-X focused on?"])[0], 3)
    assert "high-tech cooperation" in index.chunks[best].text and 0 < score <= 1.0001


# --- quota, debris, unwritable folders --------------------------------------------------------


def articles(count: int) -> list[Document]:
    return [document_from_text(f"Article {n} says the ferry number {n} leaves at noon. It is red.", f"A{n}") for n in range(count)]


def test_evict_removes_least_recently_used_indexes_beyond_the_quota(tmp_path):
    store = ArticleStore(tmp_path, HashingEmbedder())
    documents = articles(4)
    for n, document in enumerate(documents):
        store.build(document)
        os.utime(tmp_path / document.id / "CURRENT", (1_000_000 + n, 1_000_000 + n))
    store.touch(documents[0].id)  # used just now: the most recent
    one = sum(f.stat().st_size for f in (tmp_path / documents[1].id).rglob("*") if f.is_file())
    store.disk_quota_bytes = int(3.5 * one)
    removed = store.evict(keep={documents[1].id})
    assert removed == [documents[2].id]  # the oldest not kept, until three and a half fit
    assert store.stored_ids() == [documents[1].id, documents[3].id, documents[0].id]
    with pytest.raises(DocumentError, match="no article .* is stored here"):
        store.load_stored(documents[2].id)
    assert store.load_stored(documents[3].id).document == documents[3]  # text and title come back too


def test_remove_incomplete_leaves_only_live_indexes(tmp_path, document):
    from qa.versions import remove_incomplete

    store = ArticleStore(tmp_path, HashingEmbedder())
    store.build(document)
    (tmp_path / document.id / ".tmp-v20260101T000000-deadbeef").mkdir()  # a rebuild killed midway
    (tmp_path / "never-finished-0123456789ab" / ".tmp-v20260101T000000-deadbeef").mkdir(parents=True)
    remove_incomplete(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [document.id]
    assert_only_live_version(tmp_path, document)


def test_an_unwritable_folder_keeps_the_index_in_memory(tmp_path, document, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = ArticleStore(blocker / "index", HashingEmbedder())  # mkdir fails, as on a read-only disk
    assert not store.writable()
    with caplog.at_level(logging.WARNING, logger="qa.articles"):
        index = store.load_or_build(document)
    assert not index.persisted and len(index.chunks) == 17
    assert "keeping it in memory only" in caplog.text and "Traceback" in caplog.text
    assert index.search(index.faiss_index.reconstruct(0), 1)[0][0] == 0


def test_progress_is_reported_per_batch(tmp_path):
    text = " ".join(f"Sentence number {n} is here." for n in range(600))
    calls = []
    ArticleStore(tmp_path, HashingEmbedder()).build(document_from_text(text, "Long"), progress=lambda *a: calls.append(a))
    assert calls == [(256, 598), (512, 598), (598, 598)]
