"""Who owns an article, on every way in: served with API keys, an upload through /v1 is its key's
alone and a page visitor's upload its visitor's alone. Every route (/v1/ask, /v1/jobs/{id},
/v1/articles listed and deleted, the page's Gradio /ask raw and through gradio_client) is tried
with every other key and with none, and no other owner's title, text or answer comes back."""

from __future__ import annotations

import json
import socket
import time
from types import SimpleNamespace

import httpx
import pytest

import ui
from qa.config import ServerSettings
from qa.library import seed_document
from qa.pipeline import Assistant

pytestmark = pytest.mark.slow

ALICE, BOB = "alice-key", "bob-key"
ALICES = "The harbour master is Ines Duarte. She took office in May after the storm season."
VISITORS = "The lighthouse keeper is Anton Vale. He has kept the light since 1990."
# What must never reach anyone but the article's owner: its title, its words, its answers.
SECRETS = ("Harbour secret", "Ines Duarte", "Lighthouse secret", "Anton Vale", "storm season", "since 1990")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bearer(key: str | None) -> dict:
    return {"Authorization": f"Bearer {key}"} if key else {}


def leaks(text: str, *secrets: str) -> list[str]:
    return [secret for secret in secrets or SECRETS if secret in text]


def page_ask(url: str, data: list, key: str | None) -> str:
    """The page's /ask through Gradio's call API, as curl would: the event's whole stream."""
    posted = httpx.post(f"{url}/gradio_api/call/ask", content=json.dumps({"data": data}),
                        headers={"Content-Type": "application/json", **bearer(key)})
    assert posted.status_code == 200, posted.text
    return httpx.get(f"{url}/gradio_api/call/ask/{posted.json()['event_id']}", timeout=120).text


@pytest.fixture(scope="module")
def server(tmp_path_factory, reader, embedder):
    """The page and /v1 served with two keys; alice's upload through /v1 and a visitor's through the page."""
    assistant = Assistant(tmp_path_factory.mktemp("owners-index"), reader=reader, embedder=embedder)
    assistant.add(seed_document())
    app = ui.build_app(assistant)
    url = ui.launch(app, ServerSettings("127.0.0.1", free_port()), {ALICE, BOB}).rstrip("/")
    try:
        job = httpx.post(f"{url}/v1/articles", data={"text": ALICES, "title": "Harbour secret"}, headers=bearer(ALICE))
        assert job.status_code == 202, job.text
        for _ in range(600):
            state = httpx.get(f"{url}/v1/jobs/{job.json()['id']}", headers=bearer(ALICE)).json()
            if state["state"] not in ("queued", "running"):
                break
            time.sleep(0.2)
        assert state["state"] == "done", state
        # A visitor pastes an article on the page (its handler, as the page's event runs it).
        *_, (choice, status, _, saved) = app.page.paste(VISITORS, "Lighthouse secret", ui.new_saved())
        assert "Loaded" in status, status
        yield SimpleNamespace(url=url, app=app, alices=state["article_id"], alices_job=job.json()["id"],
                              visitors=choice["value"], saved=saved)
    finally:
        app.close()
        app.page.ingestor.close()


def test_each_owner_asks_their_own_article(server):
    answer = httpx.post(f"{server.url}/v1/ask", json={"question": "Who is the harbour master?", "article_id": server.alices},
                        headers=bearer(ALICE), timeout=60).json()
    assert answer["answer"] == "Ines Duarte"
    assert "Ines Duarte" in page_ask(server.url, ["Who is the harbour master?", server.alices, []], ALICE)
    history, *_ = server.app.page.respond("Who is the lighthouse keeper?", [], server.visitors, server.saved)
    assert "Anton Vale" in history[-1]["content"]


@pytest.mark.parametrize("key", [BOB, None, "not-a-key"])
def test_no_route_gives_another_owners_article_to_another_key_or_none(server, key):
    url, alices, visitors = server.url, server.alices, server.visitors
    for article_id in (alices, visitors):
        asked = httpx.post(f"{url}/v1/ask", json={"question": "Who is the harbour master?", "article_id": article_id},
                           headers=bearer(key), timeout=60)
        assert asked.status_code in (401, 404) and not leaks(asked.text), asked.text
        turn = {"question": "Who is it?", "answer": "x", "article_id": article_id}
        followed = httpx.post(f"{url}/v1/ask", json={"question": "When did she take office?", "history": [turn]},
                              headers=bearer(key), timeout=60)
        assert followed.status_code in (400, 401) and not leaks(followed.text), followed.text
        deleted = httpx.delete(f"{url}/v1/articles/{article_id}", headers=bearer(key))
        assert deleted.status_code in (401, 404) and not leaks(deleted.text), deleted.text
        # The page's /ask: the article asked by id, or named by an earlier turn (it is read there first).
        for data in (["Who is the harbour master?", article_id, []], ["Who is the lighthouse keeper?", article_id],
                     ["When did she take office?", "", [["Who is it?", "x", article_id]]]):
            stream = page_ask(url, data, key)
            assert "error" in stream and not leaks(stream), stream
    listed = httpx.get(f"{url}/v1/articles", headers=bearer(key))
    assert listed.status_code in (200, 401) and alices not in listed.text and visitors not in listed.text
    assert not leaks(listed.text)
    job = httpx.get(f"{url}/v1/jobs/{server.alices_job}", headers=bearer(key))
    assert job.status_code in (401, 404) and not leaks(job.text), job.text
    # Through gradio_client too (it sends every argument, and the key as a header).
    from gradio_client import Client

    client = Client(url, headers=bearer(key), verbose=False, analytics_enabled=False)
    for article_id in (alices, visitors):
        reply = client.predict("Who is the harbour master?", article_id, [], api_name="/ask")
        assert set(reply) == {"error"} and not leaks(str(reply)), reply
    # Nothing was deleted by the tries: alice still asks hers.
    still = httpx.post(f"{url}/v1/ask", json={"question": "Who is the harbour master?", "article_id": alices},
                       headers=bearer(ALICE), timeout=60)
    assert still.json()["answer"] == "Ines Duarte"


def test_alice_does_not_get_the_page_visitors_upload_nor_bob_hers_without_keys_either(server):
    # Alice holds a key, not the visitor's browser: the visitor's upload is not hers to ask.
    assert not leaks(page_ask(server.url, ["Who is the lighthouse keeper?", server.visitors, []], ALICE))
    reply = httpx.post(f"{server.url}/v1/ask", json={"question": "Who is the lighthouse keeper?", "article_id": server.visitors},
                       headers=bearer(ALICE), timeout=60)
    assert reply.status_code == 404 and not leaks(reply.text)
    # A server without keys: the page's /ask, from this machine or another, never asks a visitor's upload.
    from qa.rest import Service

    page = server.app.page
    keyless = Service(page.assistant, None, page.default_document.id)
    served_with = page.service
    try:
        page.service = keyless
        for host in ("127.0.0.1", "203.0.113.7"):
            caller = SimpleNamespace(headers={}, client=SimpleNamespace(host=host))
            refused = page.api_ask("Who is the lighthouse keeper?", server.visitors, None, caller)
            assert set(refused) == {"error"} and not leaks(str(refused)), refused
            seed = page.api_ask("When did the US Defence Secretary arrive in New Delhi?", "", None, caller)
            assert seed["answer"] == "Sunday"
    finally:
        page.service = served_with


def test_the_page_api_answers_the_question_alone_and_repairs_what_cannot_be_encoded(server):
    alone = page_ask(server.url, ["When did the US Defence Secretary arrive in New Delhi?"], BOB)
    assert "event: complete" in alone and '"answer": "Sunday"' in alone, alone
    nothing = page_ask(server.url, [], BOB)
    assert "Please type a question." in nothing, nothing
    surrogate = page_ask(server.url, ["When did \ud800 he arrive?", "", [["Who is the US Secretary of Defence?", "Lloyd \udc00"]]], BOB)
    assert "event: complete" in surrogate and '"answer": "Sunday"' in surrogate and "internal error" not in surrogate, surrogate
    odd = page_ask(server.url, [5, ["x"], "not turns"], BOB)
    assert "event: complete" in odd and "must be text" in odd, odd


def test_another_visitor_who_learns_an_uploads_id_gets_nothing_of_it_from_any_page_event(server):
    """The browser's storage is the visitor's to edit, and the page's events take any value for
    it: an upload's id listed there by hand (unsigned, or with a made-up or borrowed signature)
    opens nothing — not the answer, the article panel, a follow-up, a reload, or a switch."""
    page, theirs = server.app.page, server.visitors
    (_, _, signature), = server.saved["library"]
    seed_article = page.default_document.id
    handmade = [[[theirs, "Mine"]], [[theirs, "Mine", "0" * 64]], [[theirs, "Mine", page.sign(seed_article)]],
                [[theirs, "Mine", signature.upper()]]]
    for library in handmade:
        intruder = {**ui.new_saved(), "library": library, "selected": theirs, "shown": [theirs, []],
                    "turns": [{"question": "Who is it?", "answer": "x", "span": {"document_id": theirs, "start": 0, "end": 30},
                               "document_id": theirs}]}
        assert page.allowed(theirs, intruder) == seed_article and theirs not in str(page.choices(intruder))
        history, _, panel, saved = page.respond("Who is the lighthouse keeper?", [], theirs, intruder)
        assert not leaks(str(history) + str(panel)), history
        followed, _, panel, _ = page.respond("When did he start?", [], seed_article, intruder)
        assert not leaks(str(followed) + str(panel)), followed
        restored = next(page.restore(intruder))
        assert restored[0]["value"] == seed_article and not leaks(str(restored)), restored
        switched = page.switch(theirs, [], {**intruder, "selected": seed_article})
        assert not leaks(str(switched)), switched
    # The visitor who brought it in asks it, after a restart too (the key is kept beside the indexes).
    restarted = ui.ChatPage(page.assistant, page.default_document, page.ingestor)
    assert restarted.allowed(theirs, server.saved) == theirs
    history, *_ = restarted.respond("Who is the lighthouse keeper?", [], theirs, server.saved)
    assert "Anton Vale" in history[-1]["content"]
