"""The persisted index: round trip, stale and damaged indexes rebuilt, builds that die halfway."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil

import faiss
import pytest
from conftest import HashingEmbedder

from qa.chunking import ChunkingConfig
from qa.documents import Document, document_from_text
from qa.errors import DocumentError
from qa.index import FORMAT_VERSION, IndexSettings, IndexStore


@pytest.fixture
def document(seed_text):
    return document_from_text(seed_text, "INDUS-X")


def edited(document: Document) -> Document:
    """The same document (same id, as when a file is edited in place) with one more sentence."""
    return Document(document.id, document.title, document.text + " One more sentence.", document.source)


def version_dir(root, document):
    home = root / document.id
    return home / (home / "CURRENT").read_text()


def assert_loads_without_embedding(root, document, settings=IndexSettings()):
    embedder = HashingEmbedder()
    index = IndexStore(root, embedder, settings).load_or_build(document)
    assert embedder.calls == 0, "a whole, current index must load from disk"
    return index


def assert_only_live_version(root, document):
    """After a successful build only CURRENT and the version it names are left: no debris."""
    home = root / document.id
    assert sorted(p.name for p in home.iterdir()) == sorted(["CURRENT", version_dir(root, document).name])
    assert sorted(p.name for p in version_dir(root, document).iterdir()) == [
        "chunks.json", "document.json", "faiss.index", "manifest.json",
    ]


def warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "qa.index" and r.levelno >= logging.WARNING]


def test_round_trip_loads_without_embedding_again(tmp_path, document):
    embedder = HashingEmbedder()
    built = IndexStore(tmp_path, embedder).load_or_build(document)
    assert embedder.calls == 1 and len(built.chunks) == 17  # 19 sentences, windows of 3 sliding by 1
    assert embedder.progress == [False]  # no progress bar for an article this short
    assert_only_live_version(tmp_path, document)

    loaded = assert_loads_without_embedding(tmp_path, document)
    assert loaded.chunks == built.chunks and loaded.sentences == built.sentences
    assert all(document.text[c.start : c.end] == c.text for c in loaded.chunks)
    query = HashingEmbedder().embed(["joint research and production"])[0]
    assert loaded.search(query, 5) == built.search(query, 5)

    manifest = loaded.manifest
    assert manifest == json.loads((version_dir(tmp_path, document) / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION and manifest["embedder"] == "fake-hashing"
    assert manifest["dimension"] == 384 and manifest["chunks"] == 17
    assert manifest["faiss_type"] == "IndexFlatIP"
    assert manifest["chunking"] == {"window_sentences": 3, "overlap_sentences": 2}
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["content_hash"])
    assert set(manifest["versions"]) == {"faiss", "sentence-transformers", "article-qa"}
    assert manifest["versions"]["faiss"] == faiss.__version__
    assert set(manifest["files"]) == {"faiss.index", "chunks.json", "document.json"}
    assert all(set(entry) == {"size", "sha256"} for entry in manifest["files"].values())
    assert manifest["created"].endswith("+00:00")


@pytest.mark.parametrize(
    ("edit", "settings", "embedder_id", "reason"),
    [
        (edited, IndexSettings(), "fake-hashing", "stale (content hash changed)"),
        (lambda doc: doc, IndexSettings(ChunkingConfig(3, 1)), "fake-hashing", "stale (chunking changed)"),
        (lambda doc: doc, IndexSettings(), "another-model", "stale (embedder changed)"),
    ],
    ids=["text", "chunking", "embedder"],
)
def test_what_changed_is_rebuilt(tmp_path, document, caplog, edit, settings, embedder_id, reason):
    IndexStore(tmp_path, HashingEmbedder()).load_or_build(document)
    changed_document, embedder = edit(document), HashingEmbedder(embedder_id)
    with caplog.at_level(logging.INFO, logger="qa.index"):
        index = IndexStore(tmp_path, embedder, settings).load_or_build(changed_document)
    assert embedder.calls == 1
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


def drop_a_chunk(directory):
    """A chunks.json whose checksum the manifest vouches for, but which no longer fits the vectors."""
    stored = json.loads((directory / "chunks.json").read_text())
    stored["chunks"].pop()
    (directory / "chunks.json").write_text(json.dumps(stored))
    manifest = json.loads((directory / "manifest.json").read_text())
    data = (directory / "chunks.json").read_bytes()
    manifest["files"]["chunks.json"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (directory / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: flip_bytes(d / "chunks.json"), "corrupted (chunks.json checksum mismatch)"),
        (lambda d: flip_bytes(d / "faiss.index"), "corrupted (faiss.index checksum mismatch)"),
        (lambda d: truncate(d / "faiss.index"), "truncated (faiss.index"),
        (lambda d: (d / "manifest.json").write_bytes(b"\x00garbage{"), "manifest.json is not JSON"),
        (lambda d: (d / "manifest.json").write_text("[1, 2, 3]"), "manifest.json is not an index manifest"),
        (lambda d: (d / "manifest.json").unlink(), "is missing manifest.json"),
        (lambda d: (d / "faiss.index").unlink(), "is missing faiss.index"),
        (lambda d: (d.parent / "CURRENT").write_text("../../x"), "CURRENT names no version directory"),
        (lambda d: (d.parent / "CURRENT").write_bytes(b"\xff\xfe\x00\x01"), "unreadable"),
        (shutil.rmtree, "CURRENT names no version directory"),
        (drop_a_chunk, "inconsistent (17 vectors for 16 chunks)"),
    ],
    ids=[
        "flipped-chunks", "flipped-faiss", "truncated-faiss", "garbage-manifest", "list-manifest",
        "no-manifest", "no-faiss", "bad-pointer", "binary-pointer", "no-version-dir", "forged-chunks",
    ],
)
def test_a_damaged_index_is_rebuilt_with_one_warning(tmp_path, document, caplog, damage, reason):
    built = IndexStore(tmp_path, HashingEmbedder()).load_or_build(document)
    damage(version_dir(tmp_path, document))
    embedder = HashingEmbedder()
    with caplog.at_level(logging.INFO, logger="qa.index"):
        index = IndexStore(tmp_path, embedder).load_or_build(document)
    assert embedder.calls == 1
    assert len(warnings(caplog)) == 1 and reason in warnings(caplog)[0], warnings(caplog)
    assert document.title in warnings(caplog)[0] and warnings(caplog)[0].endswith(": rebuilding")
    assert index.chunks == built.chunks
    assert assert_loads_without_embedding(tmp_path, document).chunks == built.chunks  # whole again
    assert_only_live_version(tmp_path, document)


def test_a_first_build_is_not_a_warning(tmp_path, document, caplog):
    with caplog.at_level(logging.INFO, logger="qa.index"):
        IndexStore(tmp_path, HashingEmbedder()).load_or_build(document)
    assert warnings(caplog) == [] and "no index for 'INDUS-X' yet: building" in caplog.text


def _killed(*args, **kwargs):
    raise KeyboardInterrupt("killed")


@pytest.mark.parametrize("killed_at", ["embedding", "rename-into-place", "pointer-switch"])
def test_a_build_killed_halfway_leaves_the_old_index(tmp_path, document, monkeypatch, killed_at):
    old = IndexStore(tmp_path, HashingEmbedder()).load_or_build(document)
    new_content = edited(document)
    if killed_at == "rename-into-place":  # every file written, the version not yet in place
        monkeypatch.setattr(os, "rename", _killed)
    elif killed_at == "pointer-switch":  # the version in place, CURRENT not yet switched to it
        monkeypatch.setattr(os, "replace", _killed)
    with pytest.raises(KeyboardInterrupt):
        IndexStore(tmp_path, HashingEmbedder(die=killed_at == "embedding")).build(new_content)
    monkeypatch.undo()

    assert assert_loads_without_embedding(tmp_path, document).chunks == old.chunks
    embedder = HashingEmbedder()
    new = IndexStore(tmp_path, embedder).load_or_build(new_content)
    assert embedder.calls == 1 and len(new.chunks) == len(old.chunks) + 1
    assert assert_loads_without_embedding(tmp_path, new_content).chunks == new.chunks
    assert_only_live_version(tmp_path, document)  # the killed build's debris is gone


def test_approximate_index_above_the_threshold(tmp_path, document, caplog):
    settings = IndexSettings(approximate_above=5)
    index = IndexStore(tmp_path, HashingEmbedder(), settings).load_or_build(document)
    assert index.manifest["faiss_type"] == "IndexHNSWFlat"
    assert isinstance(index.faiss_index, faiss.IndexHNSWFlat)
    loaded = assert_loads_without_embedding(tmp_path, document, settings)
    assert isinstance(loaded.faiss_index, faiss.IndexHNSWFlat)
    target = 7
    hits = loaded.search(HashingEmbedder().embed([loaded.chunks[target].text])[0], 3)
    assert hits[0][0] == target and hits[0][1] == pytest.approx(1.0, abs=1e-4)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    # Back under the threshold, the exact index is wanted again.
    with caplog.at_level(logging.INFO, logger="qa.index"):
        exact = IndexStore(tmp_path, HashingEmbedder()).load_or_build(document)
    assert isinstance(exact.faiss_index, faiss.IndexFlatIP)
    assert "stale (approximate_above now asks for IndexFlatIP)" in warnings(caplog)[0]


def test_search_is_best_first_and_k_is_capped(tmp_path, document):
    index = IndexStore(tmp_path, HashingEmbedder()).load_or_build(document)
    hits = index.search(HashingEmbedder().embed(["defence production in India"])[0], 100)
    assert len(hits) == len(index.chunks) == 17
    assert sorted(i for i, _ in hits) == list(range(17))
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert all(-1.0001 <= s <= 1.0001 for _, s in hits)
    assert index.search(HashingEmbedder().embed(["defence"])[0], 0) == []


def test_a_long_document_shows_a_progress_bar(tmp_path):
    doc = document_from_text(" ".join(f"Fact number {n} is here." for n in range(250)), "long")
    embedder = HashingEmbedder()
    index = IndexStore(tmp_path, embedder).load_or_build(doc)
    assert len(index.chunks) > 200 and embedder.progress == [True]


def test_a_document_without_sentences_has_no_index(tmp_path):
    doc = Document(id="blank", title="blank", text=" \n\n ")  # past document_from_text's own check
    embedder = HashingEmbedder()
    with pytest.raises(DocumentError, match="no sentences"):
        IndexStore(tmp_path, embedder).load_or_build(doc)
    assert embedder.calls == 0 and not (tmp_path / "blank").exists()


def test_real_embedder_finds_the_focus_sentence(tmp_path, document, embedder):
    """The real all-MiniLM-L6-v2 (conftest's session fixture: loaded once for all tests)."""
    index = IndexStore(tmp_path, embedder).load_or_build(document)
    assert index.manifest["embedder"] == embedder.id and index.manifest["dimension"] == 384
    (best, score), *_ = index.search(embedder.embed(["What is INDUS-X focused on?"])[0], 3)
    assert "high-tech cooperation" in index.chunks[best].text and 0 < score <= 1.0001


# --- quota, debris, unwritable folders --------------------------------------------------------


def articles(count: int) -> list[Document]:
    return [document_from_text(f"Article {n} says the ferry number {n} leaves at noon. It is red.", f"A{n}") for n in range(count)]


def test_evict_removes_least_recently_used_indexes_beyond_the_quota(tmp_path):
    store = IndexStore(tmp_path, HashingEmbedder())
    documents = articles(4)
    for n, document in enumerate(documents):
        store.build(document)
        os.utime(tmp_path / document.id / "CURRENT", (1_000_000 + n, 1_000_000 + n))
    store.touch(documents[0].id)  # used just now: the most recent
    one = sum(f.stat().st_size for f in (tmp_path / documents[1].id).rglob("*") if f.is_file())
    store.settings = IndexSettings(disk_quota_bytes=int(3.5 * one))
    removed = store.evict(keep={documents[1].id})
    assert removed == [documents[2].id]  # the oldest not kept, until three and a half fit
    assert store.stored_ids() == [documents[1].id, documents[3].id, documents[0].id]
    with pytest.raises(DocumentError, match="no article .* is stored here"):
        store.load_stored(documents[2].id)
    assert store.load_stored(documents[3].id).document == documents[3]  # text and title come back too


def test_remove_incomplete_leaves_only_live_indexes(tmp_path, document):
    from qa.versions import remove_incomplete

    store = IndexStore(tmp_path, HashingEmbedder())
    store.build(document)
    (tmp_path / document.id / ".tmp-v20260101T000000-deadbeef").mkdir()  # a rebuild killed midway
    (tmp_path / "never-finished-0123456789ab" / ".tmp-v20260101T000000-deadbeef").mkdir(parents=True)
    remove_incomplete(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [document.id]
    assert_only_live_version(tmp_path, document)


def test_an_unwritable_folder_keeps_the_index_in_memory(tmp_path, document, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = IndexStore(blocker / "index", HashingEmbedder())  # mkdir fails, as on a read-only disk
    assert not store.writable()
    with caplog.at_level(logging.WARNING, logger="qa.index"):
        index = store.load_or_build(document)
    assert not index.persisted and len(index.chunks) == 17
    assert "keeping it in memory only" in caplog.text and "Traceback" in caplog.text
    assert index.search(index.faiss_index.reconstruct(0), 1)[0][0] == 0


def test_progress_is_reported_per_batch(tmp_path):
    text = " ".join(f"Sentence number {n} is here." for n in range(600))
    calls = []
    IndexStore(tmp_path, HashingEmbedder()).build(document_from_text(text, "Long"), progress=lambda *a: calls.append(a))
    assert calls == [(256, 598), (512, 598), (598, 598)]
