"""The REST API (/v1): real models behind it, driven in-process through its ASGI app; Schemathesis
asks it what its OpenAPI schema allows (and every string in odd Unicode, lone surrogates among it)
and finds no 500; admission says "busy" at once; its documentation pages work with no network."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from qa.config import AdmissionSettings
from qa.rest import Admission, Problem, Service, create_app

KEY, OTHER_KEY = "key-one", "key-two"
CHROMIUM = Path("/usr/bin/chromium")
# Strings no schema asks for: lone surrogates (JSON's "\ud800"), controls, a byte-order mark,
# right-to-left overrides, combining marks, private use, emoji sequences.
ODD = ["\ud800", "When did \udfff he arrive?", "\x00\x07", "\ufeffWho?", "\u202eWho?", "e\u0301\u0301", "\ue000", "\U0001f3f4\u200d\u2620\ufe0f", "\uffff"]


@pytest.fixture(scope="module")
def service(tmp_path_factory, reader, embedder):
    from qa.ingest import Ingestor
    from qa.library import seed_document
    from qa.pipeline import Assistant

    index_dir = tmp_path_factory.mktemp("rest-index")
    assistant = Assistant(index_dir, reader=reader, embedder=embedder)
    seed = assistant.add(seed_document())
    ingestor = Ingestor(index_dir)
    yield Service(assistant, ingestor, seed.id, {KEY, OTHER_KEY})
    ingestor.close()


@pytest.fixture(scope="module")
def client(service):
    from fastapi.testclient import TestClient

    with TestClient(create_app(service), headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client


def json_request(client, path: str, body: object, **headers):
    """POST ``body`` as JSON written with escapes (``\\ud800``), as any JSON client may send it: a
    lone surrogate can't be sent raw."""
    return client.post(path, content=json.dumps(body), headers={"Content-Type": "application/json", **headers})


@contextlib.contextmanager
def served(app):
    """``app`` served by uvicorn on a free local port, in a thread: its URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def modelless_service() -> Service:
    """A Service whose assistant is never asked: enough for the schema and the docs pages."""
    assistant = SimpleNamespace(settings=SimpleNamespace(admission=AdmissionSettings()), documents=[])
    return Service(assistant, None, "seed", {KEY})


def test_the_docs_pages_load_their_scripts_from_this_server():
    from fastapi.testclient import TestClient

    client = TestClient(create_app(modelless_service()))
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200, page
        assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert assets and all(asset.startswith("/") for asset in assets), assets  # no CDN
        for asset in assets:
            assert client.get(asset).status_code == 200, asset


@pytest.mark.slow
@pytest.mark.browser
def test_swagger_ui_renders_the_api_with_no_network():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium (./scripts/test installs it)")
    from fastapi import FastAPI
    from playwright.sync_api import expect, sync_playwright

    from qa.rest import add_to

    app = FastAPI()
    add_to(app, modelless_service())  # mounted at /v1, as qa serve does
    with served(app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            elsewhere = []

            def only_this_server(route):  # the network is this server alone
                if route.request.url.startswith(url):
                    route.continue_()
                else:
                    elsewhere.append((route.request.resource_type, route.request.url))
                    route.abort()

            page.route("**/*", only_this_server)
            page.goto(f"{url}/v1/docs")
            expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            assert {"/ask", "/articles", "/jobs/{job_id}"} <= {path.strip() for path in paths}, paths
            assert elsewhere == []
            page.goto(f"{url}/v1/redoc")
            expect(page.locator("h1").first).to_contain_text("article-qa", timeout=30_000)
            expect(page.get_by_text("/ask").first).to_be_attached()
            # ReDoc's only reach outside is its maker's logo, an image; the page works without it.
            assert all(kind == "image" for kind, _ in elsewhere), elsewhere
        finally:
            browser.close()


def test_admission_says_busy_at_once_beyond_its_slots_and_waiting_room():
    import anyio

    async def scenario():
        admission = Admission(AdmissionSettings(in_flight=1, waiting=0, wait_s=5.0))
        async with admission.slot():
            began = time.perf_counter()
            with pytest.raises(Problem) as refused:
                async with admission.slot():
                    pass
            assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
            assert time.perf_counter() - began < 0.1  # no waiting room: told at once
        patient = Admission(AdmissionSettings(in_flight=1, waiting=1, wait_s=0.2))
        async with patient.slot():
            began = time.perf_counter()
            with pytest.raises(Problem):
                async with patient.slot():
                    pass
            assert 0.15 < time.perf_counter() - began < 1.0  # waited its turn, briefly
        async with patient.slot():  # the slot is free again
            pass

    anyio.run(scenario)


@pytest.mark.slow
def test_a_question_and_its_follow_up(client):
    first = client.post("/ask", json={"question": "Who is the US Secretary of Defence?"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["answer"] == "Lloyd J Austin III" and body["answerable"] and body["source"].startswith("from INDUS-X")
    assert body["sentence"][body["start"] - 0 : 0] == "" and body["answer"] in body["sentence"]
    history = [{"question": "Who is the US Secretary of Defence?", "answer": body["answer"]}]
    follow_up = client.post("/ask", json={"question": "When did he arrive?", "history": history}).json()
    assert follow_up["answer"] == "Sunday" and follow_up["understood_as"]
    claim = client.post("/ask", json={"question": "Austin arrived on Monday, right?"}).json()
    assert (claim["verdict"], claim["kind"], claim["answer"]) == ("no", "verdict", "No — it says Sunday")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("request_json", "status", "says"),
    [
        ({}, 422, "question"),
        ({"question": ""}, 422, "question"),
        ({"question": "Who?", "article_id": 5}, 422, "article_id"),
        ({"question": "Who?", "history": [["ab", "cd"]]}, 422, "history"),
        ({"question": "Who?", "history": [{"question": "a", "answer": "b", "extra": 1}]}, 422, "extra"),
        ({"question": "Who?", "article_id": "*"}, 404, "no archive"),
        ({"question": "Who?", "article_id": "someone-elses"}, 404, "GET /v1/articles"),
        ({"question": "Who?", "history": [{"question": "a", "answer": "b", "article_id": "x"}]}, 400, "can't ask"),
    ],
)
def test_a_bad_request_gets_a_4xx_that_says_what_to_change(client, request_json, status, says):
    response = client.post("/ask", json=request_json)
    assert response.status_code == status and says in response.text, response.text


@pytest.mark.slow
def test_keys_are_required_and_an_upload_is_its_keys_alone(service, client):
    from fastapi.testclient import TestClient

    app = create_app(service)
    assert TestClient(app).post("/ask", json={"question": "Who?"}).status_code == 401
    stranger = TestClient(app, headers={"Authorization": "Bearer nope"})
    assert stranger.get("/articles").status_code == 401

    job = client.post("/articles", data={"text": "The harbour master is Ines Duarte. She took office in May.", "title": "Harbour"})
    assert job.status_code == 202, job.text
    for _ in range(600):
        state = client.get(f"/jobs/{job.json()['id']}").json()
        if state["state"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    assert state["state"] == "done", state
    article_id = state["article_id"]
    assert article_id in [a["id"] for a in client.get("/articles").json()]
    answer = client.post("/ask", json={"question": "Who is the harbour master?", "article_id": article_id}).json()
    assert answer["answer"] == "Ines Duarte"

    other = TestClient(app, headers={"Authorization": f"Bearer {OTHER_KEY}"})
    assert article_id not in [a["id"] for a in other.get("/articles").json()]
    assert other.post("/ask", json={"question": "Who?", "article_id": article_id}).status_code == 404
    assert other.get(f"/jobs/{job.json()['id']}").status_code == 404
    assert other.delete(f"/articles/{article_id}").status_code == 404

    assert client.delete(f"/articles/{article_id}").status_code == 204
    assert client.post("/ask", json={"question": "Who?", "article_id": article_id}).status_code == 404


@pytest.mark.slow
@pytest.mark.parametrize(
    ("form", "files", "status", "says"),
    [
        ({}, None, 400, "give one of"),
        ({"text": "a", "url": "https://example.org/"}, None, 400, "give one of"),
        ({}, {"file": ("slides.pptx", b"PK", "application/octet-stream")}, 415, "unsupported file type"),
        ({}, {"file": ("big.txt", b"a" * 8_000_001, "text/plain")}, 413, "over the limit"),
        ({"text": "a" * 1_100_000}, None, 413, "as a .txt file"),
        ({"url": "not a url"}, None, 400, "is not a link: give one that starts with https://"),
        ({"url": "file:///etc/passwd"}, None, 400, "only http and https"),
        ({"url": "ftp://example.org/story.txt"}, None, 400, "only http and https"),
        ({"url": "https://user:pw@example.org/"}, None, 400, "user name or password"),
        ({}, {"file": (None, b"The ferry left at noon.")}, 422, "send a file, with its name"),
    ],
)
def test_a_bad_upload_gets_a_4xx_that_says_what_to_change(client, form, files, status, says):
    response = client.post("/articles", data=form, files=files)
    assert response.status_code == status and says in response.json()["error"], response.text


@pytest.mark.slow
def test_text_that_cannot_be_encoded_is_answered_or_refused_with_a_sentence(service, client):
    # A lone surrogate in the question is repaired (U+FFFD) and the question answered.
    answered = json_request(client, "/ask", {"question": "When did \ud800 he arrive?", "history": [
        {"question": "Who is the US Secretary of Defence?", "answer": "Lloyd J Austin III \udc00"}]})
    assert answered.status_code == 200 and answered.json()["answer"] == "Sunday", answered.text
    assert answered.json()["question"] == "When did \ufffd he arrive?"
    # Refused ones are told why, in JSON that can be sent: a key, a value, an article id, too long.
    for body, says in [
        ({"question": "Who?", "\ud800": "x"}, "Extra inputs"),
        ({"question": "Who?", "history": [{"question": "\udfff", "answer": "b", "\udbff": 1}]}, "Extra inputs"),
        ({"question": "Who?", "article_id": "\ud800"}, "no article"),
        ({"question": "\ud800" * 1001}, "at most 1000 characters"),
    ]:
        refused = json_request(client, "/ask", body)
        assert 400 <= refused.status_code < 500 and says in refused.json()["error"], refused.text
    # A form's fields arrive as bytes: ones that aren't UTF-8 are read with U+FFFD, not refused.
    form = client.post("/articles", content=b"text=The+pier+%ED%A0%80opened.&title=Pier%FF", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 202 and "\ufffd" in form.json()["message"], form.text
    link = client.post("/articles", data={"url": "https://example.org/\u202e\ufeff"})
    assert link.status_code == 202, link.text
    # On a real server the connection stays usable after each (the handler's failure reset it).
    import httpx

    with served(create_app(service)) as url, httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as http:
        for body in ({"question": "Who?", "\ud800": 1}, {"question": "When did \ud800 he arrive?"}):
            assert json_request(http, "/ask", body).status_code in (200, 422)
            assert http.get("/articles").status_code == 200


@pytest.mark.slow
def test_without_keys_only_this_machine_is_answered(service):
    from fastapi.testclient import TestClient

    local = Service(service.assistant, service.ingestor, service.default_article)
    app = create_app(local)
    assert TestClient(app, client=("127.0.0.1", 5000)).post("/ask", json={"question": "What is INDUS-X?"}).status_code == 200
    remote = TestClient(app, client=("203.0.113.7", 5000)).post("/ask", json={"question": "What is INDUS-X?"})
    assert remote.status_code == 403 and "--api-key" in remote.json()["error"]


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(service):
    # Every operation, with what its schema allows and with what it does not: never a 500.
    # (Schemathesis's pytest plugin does not run under this pytest; its strategies are used directly.)
    from hypothesis import given
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(service))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.label for operation in operations} >= {"POST /ask", "POST /articles", "GET /jobs/{job_id}"}
    for operation in operations:

        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"}, checks=[not_a_server_error])

        check()


def odd_strings(value, draw):
    """``value`` with every string in it (dict keys of its own too) drawn afresh from odd Unicode."""
    from hypothesis import strategies as st

    if isinstance(value, str):
        return draw(st.sampled_from(ODD) | st.text(st.characters(categories=("Cs", "Cc", "Cf", "Co", "Mn", "So")), max_size=30))
    if isinstance(value, dict):
        return {key: odd_strings(item, draw) for key, item in value.items()}
    if isinstance(value, list):
        return [odd_strings(item, draw) for item in value]
    return value


@pytest.mark.slow
def test_schemathesis_with_odd_unicode_in_every_string_finds_no_server_error(service):
    # Each operation's cases as its schema makes them, every string field then made odd: lone
    # surrogates (JSON carries them escaped; a form can't carry them at all, so its fields get the
    # rest), controls, marks, private use. Never a 500, and each refusal is JSON with a sentence.
    from hypothesis import given
    from hypothesis import strategies as st
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(service))
    sent_surrogates = []
    for operation in (result.ok() for result in schema.get_all_operations()):

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy(), data=st.data())
        def check(case, data):
            form = "form" in (case.media_type or "")
            draw = (lambda s: data.draw(s.map(lambda text: re.sub("[\ud800-\udfff]", "", text)))) if form else data.draw
            if isinstance(case.body, (dict, list, str)):
                case.body = odd_strings(case.body, draw)
                sent_surrogates.append(bool(re.search("[\ud800-\udfff]", json.dumps(case.body, ensure_ascii=False))))
            case.path_parameters = odd_strings(case.path_parameters or {}, lambda s: data.draw(s.map(lambda t: re.sub("[\ud800-\udfff/]", "", t) or "x")))
            response = case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"}, checks=[not_a_server_error])
            if 400 <= response.status_code < 500:
                assert response.json()["error"], response.text

        check()
    assert any(sent_surrogates)


@pytest.mark.slow
def test_many_questions_at_once_each_get_an_answer_or_busy_never_a_hang(client):
    outcomes = []

    def ask():
        began = time.perf_counter()
        response = client.post("/ask", json={"question": "What does INDUS-X aim at?"})
        outcomes.append((response.status_code, time.perf_counter() - began, response.headers.get("retry-after")))

    threads = [threading.Thread(target=ask) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 60
    assert {status for status, _, _ in outcomes} <= {200, 503}
    assert all(retry == "1" for status, _, retry in outcomes if status == 503)
    assert max(seconds for _, seconds, _ in outcomes) < 10
