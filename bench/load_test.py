"""Load on a running chat server: concurrent clients asking its /ask endpoint.

    qa serve &                                   # or: python ui.py &
    .venv/bin/python bench/load_test.py [--url http://127.0.0.1:7860] [--clients 20] [--questions 10] [--http | --rest]
        [--document-id ID] [--questions-from DATA]

By default the questions are about the seed article; ``--questions-from`` asks those of a SQuAD-format
file instead (in turn, each client starting at its own), and ``--document-id`` names the article to
ask ("*": the whole archive of ``qa serve --archive DIR``).

Clients are gradio_client's, as a Python user would call the server; with ``--http`` they are plain
HTTP calls to Gradio's REST API (POST /gradio_api/call/ask, then read its event stream), which
cost the machine a fraction of the CPU: on two shared cores, gradio_client's 50 clients used more
CPU than the server they measured. With ``--rest`` the same load goes, in one run, first through
Gradio's API over plain HTTP and then through the REST API (POST /v1/ask, ``qa.rest``), whose
"busy" answers (503 with Retry-After) a client waits out and retries, as a polite client does:
they are counted, not failed. ``--burst N`` sends N REST questions at once (one asyncio client, so
that the clients' own threads do not crowd the two cores) and reports how many were answered, how
many told "busy", and the slowest of each.

Loopback only, and bounded: clients x questions calls at most, each waiting no longer than what
is left of --deadline seconds for the whole run. Prints the error count and the per-question
latency (p50/p95) as the clients see it, queueing included; exits 1 when any question failed.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from qa.training.end_to_end import percentile
from qa.training.squad import load_questions

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# Questions about the seed article (INDUS-X), one of which it doesn't answer.
QUESTIONS = [
    "What does INDUS-X aim at?",
    "When did the US Defence Secretary arrive in New Delhi?",
    "Where was Austin accorded the guard of honour?",
    "What are India and the US exploring co-producing?",
    "When did the US designate India a Major Defence Partner?",
    "What roadmap did India and the US conclude?",
    "Which region's peace and stability do both countries want to maintain?",
    "What is the budget of INDUS-X?",
    "Which dialogue did the two countries recently launch?",
    "What is the capital of France?",
]


@dataclass
class ClientRun:
    """What one client saw: seconds per answered question, and what went wrong."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


Ask = Callable[[str, float], dict]  # (question, seconds left) -> the /ask reply


def gradio_client_asker(url: str, document_id: str) -> Ask:
    from gradio_client import Client

    client = Client(url, verbose=False, analytics_enabled=False)
    return lambda question, timeout: client.submit(question, document_id, api_name="/ask").result(timeout=timeout)


def http_asker(url: str, document_id: str) -> Ask:
    def ask(question: str, timeout: float) -> dict:
        body = json.dumps({"data": [question, document_id, []]}).encode()
        request = urllib.request.Request(f"{url}/gradio_api/call/ask", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            event_id = json.load(response)["event_id"]
        with urllib.request.urlopen(f"{url}/gradio_api/call/ask/{event_id}", timeout=timeout) as response:
            stream = response.read().decode()
        event = re.search(r"^event: (\w+)\ndata: (.*)$", stream, re.MULTILINE)
        if event is None or event.group(1) != "complete":
            raise RuntimeError(f"no answer in the event stream: {stream[:200]!r}")
        return json.loads(event.group(2))[0]

    return ask


def rest_asker(url: str, document_id: str) -> Ask:
    import httpx

    client = httpx.Client(timeout=None)

    def ask(question: str, timeout: float) -> dict:
        give_up = time.monotonic() + timeout
        while True:
            body = {"question": question, **({"article_id": document_id} if document_id else {})}
            response = client.post(f"{url}/v1/ask", json=body, timeout=max(0.1, give_up - time.monotonic()))
            if response.status_code != 503 or time.monotonic() >= give_up:
                return response.json() if response.status_code == 200 else {"error": f"{response.status_code}: {response.text[:200]}"}
            BUSY.append(1)
            time.sleep(float(response.headers.get("retry-after", "1")))

    return ask


BUSY: list[int] = []  # the REST API's "busy" answers, waited out and retried


def run_client(
    url: str, client_number: int, questions: int, deadline: float, connect: Callable[[], Ask], asked: list[str], start: int
) -> ClientRun:
    """Ask ``questions`` of ``asked`` one after another, from the ``start``-th on."""
    run = ClientRun()
    try:
        ask = connect()
    except Exception as error:  # a client that can't connect fails all its questions
        run.errors.extend([f"client {client_number}: cannot connect: {error!r}"] * questions)
        return run
    for turn in range(questions):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            run.errors.append(f"client {client_number}: deadline passed before question {turn}")
            continue
        question = asked[(start + turn) % len(asked)]
        began = time.perf_counter()
        try:
            answer = ask(question, remaining)
        except Exception as error:  # timeouts, connection and server errors all count as failures
            run.errors.append(f"client {client_number}: {question!r}: {error!r}")
            continue
        if "error" in answer:
            run.errors.append(f"client {client_number}: {question!r}: {answer['error']}")
            continue
        run.latencies.append(time.perf_counter() - began)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10, help="per client")
    parser.add_argument("--deadline", type=float, default=900, help="seconds for the whole run")
    parser.add_argument("--http", action="store_true", help="plain HTTP clients instead of gradio_client")
    parser.add_argument("--rest", action="store_true", help="Gradio's API over HTTP, then the REST API (/v1/ask), in one run")
    parser.add_argument("--burst", type=int, help="N REST questions at once instead")
    parser.add_argument("--document-id", default="", help='the article asked; "*": the whole archive')
    parser.add_argument("--questions-from", type=Path, help="ask the questions of this SQuAD-format file")
    args = parser.parse_args()
    if urlparse(args.url).hostname not in LOOPBACK_HOSTS:
        parser.error("load is only ever sent to this machine's loopback address")
    if not (1 <= args.clients <= 100 and 1 <= args.questions <= 100):
        parser.error("--clients and --questions must each be between 1 and 100")

    asked = [q.question for q in load_questions(args.questions_from)] if args.questions_from else QUESTIONS
    if args.burst:
        return burst(args.url, args.burst, asked)
    if args.rest:
        paths = [("http", http_asker), ("rest", rest_asker)]
    else:
        paths = [("http", http_asker)] if args.http else [("gradio_client", gradio_client_asker)]
    failed = False
    for name, asker in paths:
        failed |= load(args, name, asker, asked)
    return 1 if failed else 0


def burst(url: str, count: int, asked: list[str]) -> int:
    """``count`` REST questions sent at once; each must come back, answered or "busy"."""
    import asyncio

    import httpx

    async def run() -> list[tuple[object, float]]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            async def one(question: str) -> tuple[object, float]:
                began = time.perf_counter()
                try:
                    response = await client.post(f"{url}/v1/ask", json={"question": question})
                    return response.status_code, time.perf_counter() - began
                except Exception as error:  # a hang or a refused connection is a finding
                    return repr(error)[:60], time.perf_counter() - began
            return await asyncio.gather(*(one(asked[n % len(asked)]) for n in range(count)))

    outcomes = asyncio.run(run())
    report = {
        "burst": count,
        "answered": sum(status == 200 for status, _ in outcomes),
        "busy": sum(status == 503 for status, _ in outcomes),
        "other": sorted({str(status) for status, _ in outcomes if status not in (200, 503)}),
        "slowest_answered_s": round(max((s for status, s in outcomes if status == 200), default=0.0), 2),
        "slowest_busy_s": round(max((s for status, s in outcomes if status == 503), default=0.0), 2),
    }
    print(json.dumps(report, indent=2))
    return 1 if report["other"] else 0


def load(args: argparse.Namespace, name: str, asker: Callable[[str, str], Ask], asked: list[str]) -> bool:
    """One run of the load through ``asker``; prints its report; True when any question failed."""
    BUSY.clear()
    deadline = time.monotonic() + args.deadline
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.clients) as pool:
        futures = [
            pool.submit(run_client, args.url, number, args.questions, deadline,
                        functools.partial(asker, args.url, args.document_id), asked,
                        start=number * max(1, len(asked) // args.clients))
            for number in range(args.clients)
        ]
        runs = [future.result() for future in futures]
    wall = time.perf_counter() - began

    latencies = [seconds for run in runs for seconds in run.latencies]
    errors = [error for run in runs for error in run.errors]
    report = {
        "client": name,
        "clients": args.clients,
        "questions_per_client": args.questions,
        "answered": len(latencies),
        "errors": len(errors),
        "busy_retried": len(BUSY),
        "p50_s": round(percentile(latencies, 50), 3),
        "p95_s": round(percentile(latencies, 95), 3),
        "wall_s": round(wall, 1),
        "answers_per_s": round(len(latencies) / wall, 2),
    }
    print(json.dumps(report, indent=2))
    for error in errors[:10]:
        print(error, file=sys.stderr)
    return bool(errors)


if __name__ == "__main__":
    sys.exit(main())
