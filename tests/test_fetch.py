"""Articles from links: fetched within a budget, never from this machine or a private network."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa import fetch
from qa.documents import document_from_bytes
from qa.errors import DocumentError

PAGE = (
    "<html><head><title>Ferry resumes | Harbour News</title><meta name='author' content='Ana Silva'></head><body>"
    "<nav>Home | World | Sport</nav><article><h1>Ferry resumes</h1>"
    + "".join(f"<p>The ferry to Valdora sailed again on Tuesday, trip number {n}, after the storm closed the port.</p>" for n in range(6))
    + "</article><footer>Cookies</footer></body></html>"
)
ROUTES = {
    "/story": (200, "text/html; charset=utf-8", PAGE.encode()),
    "/notes.txt": (200, "text/plain", b"The council meets on Friday. It will vote on the harbour budget."),
    "/photo": (200, "image/png", b"\x89PNG\r\n"),
    "/big": (200, "text/plain", b"word " * 4000),
    "/report": (200, "application/pdf", (Path(__file__).parent / "fixtures" / "indus_x.pdf").read_bytes()),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the standard library's name)
        if self.path.startswith("/redirect-to/"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect-to/").replace("%3A", ":"))
            self.end_headers()
            return
        if self.path.startswith("/loop"):
            self.send_response(302)
            self.send_header("Location", f"/loop{len(self.path)}")
            self.end_headers()
            return
        if self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            time.sleep(2)
            return
        status, content_type, body = ROUTES.get(self.path, (404, "text/plain", b"no"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def local(address) -> bool:
    """The tests' own server is on this machine: let loopback through, as the default never does."""
    return address.is_loopback


def test_a_page_is_read_for_its_article_with_its_link_and_author(site):
    document = fetch.fetch_article(f"{site}/story", allow=local)
    assert document.title == "Ferry resumes" and "sailed again on Tuesday" in document.text
    assert "Cookies" not in document.text and "Home | World" not in document.text
    assert document.source == f"{site}/story" and document.meta["url"] == f"{site}/story"
    assert fetch.fetch_article(f"{site}/notes.txt", allow=local).text.startswith("The council meets")
    # A PDF link reads as the PDF file does.
    report = fetch.fetch_article(f"{site}/report", allow=local)
    saved = document_from_bytes((Path(__file__).parent / "fixtures" / "indus_x.pdf").read_bytes(), "indus_x.pdf")
    assert (report.title, report.text) == (saved.title, saved.text)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_this_machine_is_never_fetched(site, host):
    port = site.rsplit(":", 1)[1]
    with pytest.raises(DocumentError, match="this machine or a private network"):
        fetch.fetch_article(f"http://{host}:{port}/story")


def test_a_redirect_to_a_private_address_is_refused_at_its_connection(site):
    with pytest.raises(DocumentError, match="this machine or a private network"):
        fetch.fetch_article(f"{site}/redirect-to/http%3A//169.254.169.254/latest/meta-data/", allow=local)
    with pytest.raises(DocumentError, match="only http and https"):
        fetch.fetch_article(f"{site}/redirect-to/file%3A///etc/passwd", allow=local)


def test_too_many_redirects_too_big_wrong_type_missing_and_slow_each_get_a_sentence(site, monkeypatch):
    with pytest.raises(DocumentError, match="redirects more than 5 times"):
        fetch.fetch_article(f"{site}/loop", allow=local)
    with pytest.raises(DocumentError, match="image/png, not a web page"):
        fetch.fetch_article(f"{site}/photo", allow=local)
    with pytest.raises(DocumentError, match="answered 404"):
        fetch.fetch_article(f"{site}/gone", allow=local)
    monkeypatch.setattr(fetch, "MAX_BYTES", 10_000)
    with pytest.raises(DocumentError, match="over 10,000 bytes"):
        fetch.fetch_article(f"{site}/big", allow=local)
    monkeypatch.setattr(fetch, "READ_TIMEOUT", 0.5)
    began = time.monotonic()
    with pytest.raises(DocumentError, match="did not answer in time"):
        fetch.fetch_article(f"{site}/slow", allow=local)
    assert time.monotonic() - began < 1.9


@pytest.mark.parametrize(("link", "why"), [
    ("ftp://example.com/a", "only http and https"),
    ("javascript:alert(1)", "only http and https"),
    ("https://user:secret@example.com/", "user name or password"),
    ("https:///path-only", "names no web site"),
    ("https://example.com/" + "a" * 3000, "characters long"),
])
def test_links_that_cannot_be_fetched_say_why_before_any_connection(link, why):
    with pytest.raises(DocumentError, match=why):
        fetch.fetch_article(link)


@given(st.text(max_size=300))
def test_any_text_given_as_a_link_is_read_or_refused_with_a_sentence(text):
    try:
        fetch.check_link(text)
    except DocumentError as error:
        assert str(error)
