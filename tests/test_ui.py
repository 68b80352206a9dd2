"""The chat page: the real server, its /ask API through gradio_client, and a real browser."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import ui
from qa.pipeline import Assistant, seed_document

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
XSS_ARTICLE = (
    "Harbour news. The ferry <script>window.__xss=1</script> leaves at noon daily. "
    'The captain is Maria Lopez <img src=x onerror="window.__xss=2">.'
)
TIMEOUT_MS = 120_000  # the CPU is small; the first answer loads models


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, reader, embedder):
    assistant = Assistant(tmp_path_factory.mktemp("ui-index"), reader=reader, embedder=embedder)
    assistant.add(seed_document())
    app = ui.build_app(assistant)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, share=False, css=ui.CSS)
    yield f"http://127.0.0.1:{port}"
    app.close()


def test_api_ask_returns_structured_json(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    answer = client.predict("What does INDUS-X aim at?", "", api_name="/ask")
    assert answer["answerable"] is True
    assert "partnerships" in answer["text"] or "high-tech" in answer["text"]
    assert answer["text"] in answer["sentence"]
    assert {"score", "start", "end", "sentence_start", "document_id", "document_title", "alternatives"} <= set(answer)
    assert client.predict("   ", "", api_name="/ask") == {"error": "Please type a question."}


def test_reply_and_article_html_escape_everything():
    document = seed_document()
    article = ui.article_html(document.__class__("x", "<b>T</b>", XSS_ARTICLE))
    assert "<script>" not in article and "&lt;script&gt;" in article and "<img" not in article
    assert "<b>T</b>" not in article


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "Debian's chromium is missing: run ./scripts/test, which installs it"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server)
    page.locator("#question textarea").wait_for()
    yield page
    page.close()


def ask(page, question: str):
    before = page.locator(".qa-reply").count()
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.wait_for_function(
        "n => document.querySelectorAll('.qa-reply').length > n", arg=before, timeout=TIMEOUT_MS
    )
    return page.locator(".qa-reply").last


@pytest.mark.browser
def test_answer_is_highlighted_in_chat_and_article(page):
    reply = ask(page, "What does INDUS-X aim at?")
    highlighted = reply.locator("blockquote mark").inner_text()
    assert "partnerships" in highlighted or "high-tech" in highlighted
    assert "confidence" in reply.inner_text()
    cited = page.locator("#article mark.cited")
    cited.wait_for()
    assert highlighted in cited.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui.png"), full_page=True)


@pytest.mark.browser
def test_unanswerable_question_abstains(page):
    reply = ask(page, "What is the capital of France?")
    assert "doesn't say" in reply.inner_text()
    assert reply.locator("blockquote").inner_text().strip()  # the closest sentence is shown


@pytest.mark.browser
def test_upload_an_article_and_ask_about_it(page, tmp_path):
    story = tmp_path / "bridge_story.txt"
    story.write_text("The new bridge over the Tamar opened on 4 May. It cost 12 million euros to build.")
    page.locator("button:has-text('Bring your own article')").click()
    page.locator("#upload input[type=file]").set_input_files(str(story))
    page.get_by_text("Loaded").wait_for()
    reply = ask(page, "How much did the bridge cost?")
    assert "12 million euros" in reply.inner_text()


@pytest.mark.browser
def test_binary_upload_is_refused_and_the_article_stays(page, tmp_path):
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    page.locator("button:has-text('Bring your own article')").click()
    page.locator("#upload input[type=file]").set_input_files(str(binary))
    page.get_by_text("binary file").wait_for()
    assert "INDUS-X" in page.locator("#article").inner_text()
    reply = ask(page, "What does INDUS-X aim at?")
    assert "doesn't say" not in reply.inner_text()


@pytest.mark.browser
def test_script_in_an_article_or_question_never_runs(page):
    page.locator("button:has-text('Bring your own article')").click()
    page.locator("#paste-title textarea").fill("Harbour <b>news</b>")
    page.locator("#paste-text textarea").fill(XSS_ARTICLE)
    page.locator("#paste").click()
    page.get_by_text("Loaded").wait_for()
    article_text = page.locator("#article").inner_text()
    assert "<script>window.__xss=1</script>" in article_text
    assert '<img src=x onerror="window.__xss=2">' in article_text
    reply = ask(page, 'Who is the captain? <img src=x onerror="window.__xss=3">')
    assert "Maria Lopez" in reply.inner_text()
    assert page.evaluate("() => window.__xss") is None
    assert page.get_by_text('<img src=x onerror="window.__xss=3">').count() >= 1
