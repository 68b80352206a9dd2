"""Ingestion in its worker process: real embedder, real indexes; progress, refusals, cancel, a
worker that dies, and questions answered while an article is being indexed."""

from __future__ import annotations

import time

import pytest

from qa.articles import ArticleStore
from qa.ingest import CANCELLED, DONE, FAILED, Ingestor
from qa.pipeline import Assistant
from qa.store import UNBUILT

BRIDGE = "The new bridge over the Tamar opened on 4 May. It cost 12 million euros to build."


def long_article(sentences: int) -> str:
    return " ".join(f"Report {n} of the harbour says ship {n} docked at berth {n % 7}." for n in range(sentences))


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("ingest-index")


@pytest.fixture(scope="module")
def ingestor(index_dir):
    ingestor = Ingestor(index_dir)
    yield ingestor
    ingestor.close()


def test_a_pasted_article_is_indexed_in_the_worker_and_answers(ingestor, index_dir, reader, embedder):
    job = ingestor.submit_text(BRIDGE, "Bridge")
    assert job.wait(180) and job.state == DONE, job.message
    index = job.result
    assert index.persisted and index.bm25 is not UNBUILT  # its BM25 built in the worker too and (index_dir / index.document.id / "CURRENT").is_file()
    assistant = Assistant(index_dir, reader=reader, embedder=embedder)
    document = assistant.add_index(index)
    assert "12 million euros" in assistant.ask("How much did the bridge cost?", document.id).text
    # The stored index is the one an in-process add would load: nothing is embedded again.
    assert ArticleStore(index_dir, embedder).load_stored(document.id).chunks == index.chunks


@pytest.mark.parametrize(
    ("submit", "message"),
    [
        (lambda i: i.submit_file(b"\x89PNG\r\n\x1a\n\x00\x00IHDR", "photo.txt"), "binary"),
        (lambda i: i.submit_file(b"text", "slides.pptx"), "unsupported file type"),
        (lambda i: i.submit_file(b"%PDF-1.7 ...", "slides.pdf"), "it is damaged or not a PDF"),
        (lambda i: i.submit_text("   ", "Blank"), "empty"),
        (lambda i: i.submit_text("?!  ...", "Marks"), "no words"),
        # A link is fetched by the worker, which never reaches this machine or a private network.
        (lambda i: i.submit_link("http://127.0.0.1:9/story"), "this machine or a private network"),
        (lambda i: i.submit_link("http://169.254.169.254/latest/meta-data/"), "this machine or a private network"),
        (lambda i: i.submit_link("file:///etc/passwd"), "only http and https"),
    ],
)
def test_bad_input_fails_with_a_sentence(ingestor, submit, message):
    job = submit(ingestor)
    assert job.wait(180) and job.state == FAILED
    assert message in job.message and "Traceback" not in job.message
    assert message in job.describe()


def test_progress_then_cancel_leaves_nothing_on_disk(ingestor, index_dir):
    job = ingestor.submit_text(long_article(3000), "Harbour log")
    deadline = time.monotonic() + 180
    while job.done == 0 and time.monotonic() < deadline:  # wait until it is really embedding
        time.sleep(0.1)
    assert job.state == "running" and 0 < job.done < job.total == 3000 - 2
    assert "Indexing Harbour log:" in job.describe()
    job.cancel()
    assert job.wait(30) and job.state == CANCELLED
    assert not (index_dir / job.document_id).exists()
    # The next job gets a fresh worker.
    after = ingestor.submit_text("The pier reopened on Friday.", "Pier")
    assert after.wait(180) and after.state == DONE


def test_a_queued_job_cancelled_never_runs(ingestor):
    first = ingestor.submit_text(long_article(400), "First")
    second = ingestor.submit_text("The quay was painted blue.", "Second")
    second.cancel()
    assert "Waiting to index" in second.describe() or second.finished
    assert first.wait(180) and first.state == DONE
    assert second.wait(30) and second.state == CANCELLED and second.result is None


def test_a_worker_that_dies_fails_its_job_and_the_next_one_runs(ingestor, index_dir):
    job = ingestor.submit_text(long_article(3000), "Doomed")
    while job.done == 0 and not job.finished:
        time.sleep(0.1)
    ingestor._process.kill()  # as the kernel's out-of-memory killer would
    assert job.wait(30) and job.state == FAILED and "stopped unexpectedly" in job.message
    assert not (index_dir / job.document_id).exists()
    after = ingestor.submit_text("The lighthouse keeper is Ana Silva.", "Lighthouse")
    assert after.wait(180) and after.state == DONE


@pytest.mark.slow
def test_a_job_over_its_time_limit_is_stopped(index_dir):
    from qa.config import IngestSettings

    slow = Ingestor(index_dir, IngestSettings(time_limit_s=1.0))
    try:
        job = slow.submit_text(long_article(3000), "Too long")
        assert job.wait(60) and job.state == FAILED and "took longer than" in job.message
    finally:
        slow.close()


def test_questions_are_answered_while_an_article_is_indexed(ingestor, index_dir, reader, embedder):
    """The question path shares nothing with the worker: a question about a loaded article is
    answered while a large article is being indexed (timing ratios are measured in bench/)."""
    assistant = Assistant(index_dir, reader=reader, embedder=embedder)
    assistant.add_text(BRIDGE, "Bridge")
    job = ingestor.submit_text(long_article(3000), "Big")
    while job.done == 0 and not job.finished:
        time.sleep(0.1)
    answers = [assistant.ask("How much did the bridge cost?").text for _ in range(3)]
    assert not job.finished, "the worker was meant to be still indexing"
    assert answers == ["12 million euros"] * 3
    job.cancel()
    assert job.wait(30)
