"""The archive: one corpus index for many articles (real embedder, real FAISS, SQLite and BM25)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import HEADLINES, NEWS, REPO_ROOT, write_squad

from qa.archive_ingest import SHARDS_DIR, article_files, ingest
from qa.config import SENTENCE_MEAN, WHOLE_ARCHIVE, CorpusSettings, RetrievalSettings, Settings
from qa.conversation import Conversation
from qa.documents import document_from_text, load_document
from qa.pipeline import Assistant
from qa.retrieval import Retriever, weighted_fusion
from qa.store import CorpusError, open_corpus
from qa.store_build import prepare, update_corpus


def news_documents(folder: Path):
    return [load_document(path) for path in article_files([folder])]


def test_an_archive_is_built_added_to_replaced_in_and_removed_from(tmp_path, news_dir, embedder):
    documents = news_documents(news_dir)
    root = tmp_path / "archive"
    archive = update_corpus(root, embedder, prepare(documents[:4], embedder))
    assert len(archive) == 4 and archive.manifest["faiss"] == "fp16"
    first_version = archive.directory

    archive = update_corpus(root, embedder, prepare(documents[3:], embedder), removed=[documents[0].id])
    assert sorted(archive.ids) == sorted(d.id for d in documents[1:])
    assert not first_version.exists()  # the old version goes once the new one is live

    # The same file with new text replaces its article rather than joining it.
    edited = document_from_text(documents[1].text + " The pier reopens in May.", title=documents[1].title, source=documents[1].source)
    archive = update_corpus(root, embedder, prepare([edited], embedder))
    assert edited.id in archive and documents[1].id not in archive and len(archive) == 5
    assert archive.document(edited.id).text.endswith("reopens in May.")

    # Nothing new: the live version stays.
    assert update_corpus(root, embedder, prepare([edited], embedder)).directory == archive.directory


def test_two_builds_of_one_archive_at_once_take_turns_and_lose_nothing(tmp_path, monkeypatch):
    import threading

    from conftest import KeywordEmbedder

    import qa.store_build as store_build
    from qa.versions import remove_incomplete

    embedder, root = KeywordEmbedder(), tmp_path / "archive"
    first = [document_from_text(f"Ship {n} docked at berth {n}.", title=f"ship {n}") for n in range(3)]
    second = [document_from_text(f"Train {n} left platform {n}.", title=f"train {n}") for n in range(3)]
    # The first build is slow to write, so that the second arrives while it holds the lock.
    writing, write = threading.Event(), store_build._write_version

    def slow_write(*args, **kwargs):
        writing.set()
        threading.Event().wait(0.5)
        return write(*args, **kwargs)

    monkeypatch.setattr(store_build, "_write_version", slow_write)
    builds = [threading.Thread(target=update_corpus, args=(root, embedder, prepare(docs, embedder))) for docs in (first, second)]
    builds[0].start()
    assert writing.wait(10)
    remove_incomplete(tmp_path)  # a server starting meanwhile leaves the build in progress alone
    builds[1].start()
    for build in builds:
        build.join(30)
    archive = open_corpus(root, embedder)
    assert sorted(archive.document(i).title for i in archive.ids) == sorted(d.title for d in first + second)


def test_a_named_article_of_an_archive_is_asked_exactly_as_when_added_alone(tmp_path, news_dir, embedder, reader):
    documents = news_documents(news_dir)
    update_corpus(tmp_path / "archive", embedder, prepare(documents, embedder))
    over_archive = Assistant(tmp_path / "articles", embedder=embedder, reader=reader)
    over_archive.use_archive(tmp_path / "archive")
    # The same chunk vectors as the archive's: the archive's filter is then the single-article path.
    alone = Assistant(tmp_path / "alone", embedder=embedder, reader=reader, settings=Settings(article_index=CorpusSettings(chunk_vectors=SENTENCE_MEAN, bm25_bigrams=False)))
    chess = next(d for d in documents if "chess" in d.title)
    alone.add(chess)
    for question in ("Who won the national chess championship?", "Where was the championship played?"):
        ours, theirs = over_archive.ask(question, document_id=chess.id), alone.ask(question, document_id=chess.id)
        assert (ours.text, ours.span) == (theirs.text, theirs.span)
        assert ours.score == pytest.approx(theirs.score, abs=1e-3)


@pytest.mark.parametrize("question, answer, title", [
    ("How many ships waited offshore?", "32", "harbour"),
    ("Who designed the footbridge?", "Priya Nair", "bridge"),
    ("Who donated the telescopes?", "Ada Quist", "library"),
    ("How much does a sleeper cabin cost?", "89 euros", "rail"),
])
def test_a_question_finds_its_article_in_the_whole_archive(tmp_path, news_dir, embedder, reader, question, answer, title):
    update_corpus(tmp_path / "archive", embedder, prepare(news_documents(news_dir), embedder))
    assistant = Assistant(tmp_path / "articles", embedder=embedder, reader=reader)
    assistant.use_archive(tmp_path / "archive")
    found = assistant.ask(question)
    assert found.answerable and answer in found.text and found.document_title == HEADLINES[title]
    assert found.sentence in assistant.document(found.document_id).text


@pytest.mark.parametrize("document_id", [None, WHOLE_ARCHIVE])
def test_a_follow_up_is_read_in_the_conversations_article_first_and_a_new_topic_in_the_archive(
    tmp_path, news_dir, embedder, reader, document_id
):
    update_corpus(tmp_path / "archive", embedder, prepare(news_documents(news_dir), embedder))
    assistant = Assistant(tmp_path / "articles", embedder=embedder, reader=reader)
    assistant.use_archive(tmp_path / "archive")
    chat = Conversation(assistant, document_id)
    assert chat.ask("Who designed the footbridge?").document_title == HEADLINES["bridge"]
    bridge = chat.turns[-1].document_id
    # On topic: answered from the bridge article alone, read as if it had been named.
    follow_up = assistant.read("When does construction start?", document_id, history=chat.turns)
    assert {loaded.search for loaded, _ in follow_up.hits} == {bridge}  # its own search, not the archive's
    assert {context.document_id for context in follow_up.contexts} == {bridge}
    assert chat.ask("When does construction start?").text == "March"
    # A new topic: the bridge article has no confident answer, and the archive is searched with the
    # question alone, not pulled back to the bridge by the earlier turns.
    switch = assistant.read("How many ships waited offshore?", document_id, history=chat.turns)
    searches = [loaded.search for loaded, _ in switch.hits]
    assert searches[0] == bridge and "archive" in searches
    assert switch.contexts[0].document_id == bridge
    answer = chat.ask("How many ships waited offshore?")
    assert (answer.text, answer.document_title) == ("32", HEADLINES["harbour"])
    # Each alternative and each passage read names its own article, wherever in the archive it is.
    for piece in (*answer.alternatives, *answer.read):
        assert piece.span.of(assistant.document(piece.span.document_id).text) == piece.text
    assert len({passage.span.document_id for passage in answer.read}) > 1


def test_the_whole_archive_is_ranked_by_weighted_scores(tmp_path, news_dir, embedder):
    archive = update_corpus(tmp_path / "archive", embedder, prepare(news_documents(news_dir), embedder))
    question = "Who designed the footbridge?"
    vector = embedder.embed_query(question)
    settings = RetrievalSettings()
    hits = Retriever(embedder, settings).search(archive, question)
    assert len(hits) == settings.archive_top_k and len({view.document.id for view, _ in hits}) > 1
    assert "bridge" in hits[0][0].document.title
    scores = [hit.score for _, hit in hits]
    assert scores == sorted(scores, reverse=True)
    top = hits[0][1]
    row = next(r for r in range(archive.chunk_count) if archive.locate(r) == (hits[0][0].document.id, top.chunk.index))
    bm25 = archive.bm25_scores(question)
    expected = weighted_fusion(archive.cosines(vector, [row]), bm25[[row]], bm25.max(), settings.archive_dense_weight)[0]
    assert top.score == pytest.approx(float(expected))


def test_a_search_filtered_to_one_article_of_the_archive_finds_only_its_chunks(tmp_path, news_dir, embedder):
    archive = update_corpus(tmp_path / "archive", embedder, prepare(news_documents(news_dir), embedder))
    harbour = next(document_id for document_id in archive.ids if "harbour" in archive.document(document_id).title.lower())
    rows = archive.rows(harbour)
    assert [archive.locate(row) for row in rows] == [(harbour, number) for number in range(len(rows))]
    # "Who designed the footbridge?" is the bridge article's question; filtered, the harbour's best chunks.
    found = Retriever(embedder, RetrievalSettings(top_k=2)).search(archive, "Who designed the footbridge?", document_id=harbour)
    assert len(found) == min(2, len(rows)) and {view.document.id for view, _ in found} == {harbour}
    ships = Retriever(embedder).search(archive, "How many ships waited offshore?", document_id=harbour)
    assert "ships" in ships[0][1].chunk.text


def test_a_large_archive_is_compressed_and_still_finds_the_right_article(tmp_path, embedder, reader):
    # 300 one-sentence fillers push the archive past exact_up_to: IVF-PQ, re-scored exactly.
    fillers = [document_from_text(f"Item {n}: the committee met on day {n} to discuss budget line {n * 7}.", title=f"minutes {n}") for n in range(300)]
    story = document_from_text(NEWS["chess.txt"], title="chess")
    settings = CorpusSettings(exact_up_to=256)
    update_corpus(tmp_path / "archive", embedder, prepare([*fillers, story], embedder), settings=settings)
    assistant = Assistant(tmp_path / "articles", embedder=embedder, reader=reader, settings=Settings(archive_index=settings))
    archive = assistant.use_archive(tmp_path / "archive")
    assert archive.manifest["faiss"] == "ivfpq" and archive.chunk_count > 256
    found = assistant.ask("Who won the national chess championship?")
    assert found.document_title == "chess" and "Tomas Berg" in found.text


def test_a_damaged_or_stale_archive_is_refused_with_a_reason_and_a_failed_build_keeps_the_last(tmp_path, news_dir, embedder, monkeypatch):
    root = tmp_path / "archive"
    archive = update_corpus(root, embedder, prepare(news_documents(news_dir)[:2], embedder))
    # A build that fails halfway (here: while indexing vectors) leaves the last good archive live.
    import qa.store_build

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(qa.store_build, "_write_faiss", fail)
    with pytest.raises(OSError):
        update_corpus(root, embedder, prepare(news_documents(news_dir)[2:], embedder))
    monkeypatch.undo()
    survivor = open_corpus(root, embedder)
    assert survivor.directory == archive.directory and len(survivor) == 2
    assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]

    vectors = archive.directory / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-1] ^= 0xFF
    vectors.write_bytes(bytes(data))
    with pytest.raises(CorpusError, match="damaged.*vectors.npy"):
        open_corpus(root, embedder)

    manifest = json.loads((archive.directory / "manifest.json").read_text())
    manifest["embedder"] = "another-model"
    (archive.directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorpusError, match="stale .*embedder"):
        open_corpus(root, embedder)


def test_a_build_that_crashed_resumes_with_only_the_unfinished_shards(tmp_path, news_dir, embedder, monkeypatch):
    import qa.archive_ingest

    monkeypatch.setattr(qa.archive_ingest, "SHARD_DOCUMENTS", 2)
    embedded: list[int] = []
    real_prepare = qa.archive_ingest.prepare

    def counting_prepare(documents, *args, **kwargs):
        embedded.append(len(documents))
        return real_prepare(documents, *args, **kwargs)

    monkeypatch.setattr(qa.archive_ingest, "prepare", counting_prepare)
    # The crash: after every shard was written, before the merge switched the archive.
    monkeypatch.setattr(qa.archive_ingest, "update_corpus", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    root = tmp_path / "archive"
    with pytest.raises(KeyboardInterrupt):
        ingest([news_dir], root, embedder=embedder, progress=False)
    assert embedded == [2, 2, 2] and len(list((root / SHARDS_DIR).iterdir())) == 3
    # A half-written shard (killed mid-write) is thrown away and redone.
    shards = sorted((root / SHARDS_DIR).iterdir())
    shards[0].rename(shards[0].with_name(".tmp-" + shards[0].name + "-dead"))
    monkeypatch.setattr(qa.archive_ingest, "update_corpus", update_corpus)
    embedded.clear()
    report = ingest([news_dir], root, embedder=embedder, progress=False)
    assert embedded == [2] and report.documents == 6 and report.added == 6
    assert not (root / SHARDS_DIR).exists()


def test_extending_an_archive_embeds_only_the_articles_it_lacks(tmp_path, news_dir, embedder, monkeypatch):
    import qa.archive_ingest

    embedded: list[str] = []
    real_prepare = qa.archive_ingest.prepare

    def counting_prepare(documents, *args, **kwargs):
        embedded.extend(d.title for d in documents)
        return real_prepare(documents, *args, **kwargs)

    monkeypatch.setattr(qa.archive_ingest, "prepare", counting_prepare)
    root = tmp_path / "archive"
    ingest([news_dir], root, embedder=embedder, progress=False)
    assert len(embedded) == 6
    embedded.clear()
    (news_dir / "zoo.txt").write_text("Zoo welcomes twin pandas\n\nTwin pandas were born at the Kelby zoo on Friday, keepers said.")
    report = ingest([news_dir], root, embedder=embedder, progress=False)
    zoo = open_corpus(root, embedder).prepared(load_document(news_dir / "zoo.txt").id)
    assert embedded == ["Zoo welcomes twin pandas"] and (report.documents, report.added) == (7, 1)
    assert report.sentences == len(zoo.sentences)
    # Documents in memory (how `qa eval --across-articles` builds its corpus) are skipped the same way.
    embedded.clear()
    version = open_corpus(root, embedder).directory
    report = ingest(news_documents(news_dir), root, embedder=embedder, progress=False)
    assert embedded == [] and report.sentences == 0 and open_corpus(root, embedder).directory == version


def test_unreadable_files_are_skipped_with_a_reason(tmp_path, news_dir, embedder):
    (news_dir / "broken.txt").write_bytes(b"\x00\x01binary\x00")
    report = ingest([news_dir], tmp_path / "archive", embedder=embedder, progress=False)
    assert report.documents == 6 and len(report.skipped) == 1 and "binary" in report.skipped[0]


@pytest.mark.ray
@pytest.mark.slow
def test_ray_ingestion_builds_the_same_archive_as_in_process(tmp_path, news_dir, embedder, reader, ray_session):
    on_ray = ingest([news_dir], tmp_path / "ray", workers=2, embedder=embedder, progress=False)
    here = ingest([news_dir], tmp_path / "here", embedder=embedder, progress=False)
    assert (on_ray.workers, here.workers) == (2, 0)
    assert on_ray.documents == here.documents == 6 and on_ray.sentences == here.sentences
    ray_archive, local_archive = open_corpus(tmp_path / "ray", embedder), open_corpus(tmp_path / "here", embedder)
    assert sorted(ray_archive.ids) == sorted(local_archive.ids)
    assert ray_archive.manifest["documents_digest"] == local_archive.manifest["documents_digest"]
    for document_id in local_archive.ids:  # each sentence's centrality, carried through the shards
        ray_scores, local_scores = ray_archive.view(document_id).centrality, local_archive.view(document_id).centrality
        assert local_scores is not None and np.allclose(ray_scores, local_scores, atol=1e-6)
    # Extending it on Ray: only the new article is embedded.
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "zoo.txt").write_text("Zoo welcomes twin pandas\n\nTwin pandas were born at the Kelby zoo on Friday, keepers said.")
    more = ingest([news_dir, extra], tmp_path / "ray", workers=2, embedder=embedder, progress=False)
    zoo = open_corpus(tmp_path / "ray", embedder).prepared(load_document(extra / "zoo.txt").id)
    assert more.documents == 7 and more.added == 1 and more.sentences == len(zoo.sentences)
    assistant = Assistant(tmp_path / "articles", embedder=embedder, reader=reader)
    assistant.use_archive(tmp_path / "ray")
    assert assistant.ask("Where were the twin pandas born?").document_title == "Zoo welcomes twin pandas"


@pytest.mark.ray
@pytest.mark.slow
def test_qa_index_runs_on_a_two_node_ray_cluster(tmp_path, news_dir):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    try:
        cluster.wait_for_nodes()
        result = subprocess.run(
            [sys.executable, "-m", "qa.cli", "index", str(news_dir), "--archive", str(tmp_path / "archive"),
             "--ray-address", cluster.address, "--workers", "2"],
            capture_output=True, text=True, timeout=600, cwd=REPO_ROOT, env={**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"},
        )
    finally:
        cluster.shutdown()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "6 articles (6 new)" in result.stdout and "on Ray, 2 workers" in result.stdout


@pytest.mark.slow
def test_qa_ask_over_an_archive_says_which_article(tmp_path, news_dir):
    def qa(*args):
        return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)

    built = qa("index", str(news_dir), "--archive", str(tmp_path / "archive"))
    assert built.returncode == 0 and "6 articles (6 new)" in built.stdout, built.stderr[-2000:]
    asked = qa("ask", "Who designed the footbridge?", "--archive", str(tmp_path / "archive"))
    assert asked.returncode == 0 and "Priya Nair" in asked.stdout and f"from {HEADLINES['bridge']}" in asked.stdout
    missing = qa("ask", "Who?", "--archive", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no archive" in missing.stderr and "Traceback" not in missing.stderr
    removed = qa("index", "--archive", str(tmp_path / "archive"), "--remove", str(news_dir / "bridge.txt"))
    assert removed.returncode == 0 and "5 articles after removing 1" in removed.stdout, removed.stderr[-2000:]
    unknown = qa("index", "--archive", str(tmp_path / "archive"), "--remove", "no-such-article")
    assert unknown.returncode == 2 and "holds no article 'no-such-article'" in unknown.stderr


@pytest.mark.slow
def test_a_disk_that_fills_during_a_build_gets_a_sentence_and_keeps_the_archive(tmp_path, news_dir, embedder):
    import resource
    import signal

    root, late = tmp_path / "archive", news_dir / "rail.txt"
    late.rename(tmp_path / "rail.txt")
    built = subprocess.run([sys.executable, "-m", "qa.cli", "index", str(news_dir), "--archive", str(root)],
                           capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)
    assert built.returncode == 0, built.stderr[-2000:]
    (tmp_path / "rail.txt").rename(late)

    def small_disk():  # files of 4 KB at most, and a write past it fails rather than kills
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    full = subprocess.run([sys.executable, "-m", "qa.cli", "index", str(news_dir), "--archive", str(root)],
                          capture_output=True, text=True, timeout=600, cwd=REPO_ROOT, preexec_fn=small_disk)
    assert full.returncode == 2 and "no room to write the index" in full.stderr and "Traceback" not in full.stderr, full.stderr[-2000:]
    archive = open_corpus(root, embedder)
    assert len(archive) == 5 and not [p for p in root.rglob(".tmp-*")]  # the last good version, whole


@pytest.mark.slow
def test_eval_across_articles_builds_a_corpus_then_reuses_it(tmp_path, news_dir):
    stories = [(text.split("\n\n", 1)[1], []) for text in NEWS.values()]
    stories[1] = (stories[1][0], [("q1", "Who won the national chess championship?", ["Tomas Berg"])])
    # A question about "the article" asked of a whole archive: the user is asked to name one; the
    # evaluation counts it unanswered, and goes on.
    stories[2] = (stories[2][0], [("q2", "Who designed the footbridge?", ["Priya Nair"]), ("q3", "Who is mentioned?", ["Priya Nair"])])
    data, distractors = tmp_path / "dev.json", tmp_path / "distractors.json"
    write_squad(data, stories[1:3], version="v1.1")
    write_squad(distractors, [stories[0], stories[3], stories[4], stories[5]], version="v1.1")

    def run(*extra: str):
        return subprocess.run(
            [sys.executable, "-m", "qa.cli", "eval", str(data), "--across-articles", "--distractors", str(distractors),
             "--index-dir", str(tmp_path / "corpus"), *extra],
            capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
        )

    first = run()
    assert first.returncode == 0, first.stderr[-3000:]
    assert "answered from the right article: 66.7%" in first.stdout and "ingest" in first.stdout
    assert "corpus: 5 documents" in first.stdout  # one article (write_squad writes one) + 4 distractor paragraphs
    # Asked again as a conversation (each question with the earlier ones and their gold answers), after alone.
    second = run("--conversation")
    alone, in_turn = second.stdout.split("in conversation, with the gold history:")
    assert "each question asked alone" in alone and "reused the corpus already built there" in in_turn
    assert "F1 66.67" in alone and "answered from the right article: 100.0%" in in_turn, in_turn


def test_small_builds_stay_in_this_process_unless_ray_is_asked_for():
    from qa.archive_ingest import IN_PROCESS_BELOW, _workers

    assert _workers(IN_PROCESS_BELOW - 1, None, None) == 0
    assert _workers(10_000, 0, None) == 0  # --workers 0: in this process, however many


def test_archive_bm25_scores_as_bm25s_does(tmp_path, news_dir, embedder):
    import bm25s

    from qa.lexical import best_rows, tokenize

    archive = update_corpus(tmp_path / "archive", embedder, prepare(news_documents(news_dir), embedder))
    texts = [c.text for document_id in archive.ids for c in archive.view(document_id).chunks]
    reference = bm25s.BM25(method="lucene")
    reference.index(tokenize(texts, bigrams=True), show_progress=False)
    for question in ("Who designed the footbridge over the river?", "storm storm harbour", "telescopes library"):
        scores = reference.get_scores(tokenize([question], bigrams=True)[0])
        expected = [int(row) for row in np.argsort(-scores, kind="stable") if scores[row] > 0]
        assert best_rows(archive.bm25_scores(question), k=50).tolist() == expected
    assert not archive.bm25_scores("it is what it is").any()  # stop words only


def test_an_archive_of_stop_words_only_is_searched_by_meaning(tmp_path, embedder):
    plain = document_from_text("It is what it is. And so it was.", title="so")
    archive = update_corpus(tmp_path / "archive", embedder, prepare([plain], embedder))
    assert not archive.bm25_scores("what is it").any() and archive.dense(embedder.embed(["what is it"])[0], k=5)
