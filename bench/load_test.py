"""Load on a running chat server: concurrent gradio_client clients asking the /ask endpoint.

    qa serve &                                   # or ./scripts/chat
    .venv/bin/python bench/load_test.py [--url http://127.0.0.1:7860] [--clients 20] [--questions 10]

Loopback only, bounded in count (clients x questions) and time (--deadline seconds). Prints errors
and per-question latency p50/p95, as seen by the clients (queueing included).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from qa.evaluate import percentile

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


def run_client(url: str, client_number: int, questions: int, deadline: float) -> tuple[list[float], list[str]]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    latencies, errors = [], []
    for turn in range(questions):
        if time.monotonic() > deadline:
            errors.append(f"client {client_number}: deadline reached before question {turn}")
            break
        question = QUESTIONS[(client_number + turn) % len(QUESTIONS)]
        began = time.perf_counter()
        try:
            answer = client.predict(question, "", api_name="/ask")
        except Exception as error:  # every failure is counted, whatever its kind
            errors.append(f"client {client_number}: {error!r}")
            continue
        latencies.append(time.perf_counter() - began)
        if "error" in answer:
            errors.append(f"client {client_number}: {answer['error']}")
    return latencies, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10, help="per client")
    parser.add_argument("--deadline", type=float, default=900, help="seconds for the whole run")
    args = parser.parse_args()
    host = urlparse(args.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("load is only ever sent to this machine's loopback address")
    deadline = time.monotonic() + args.deadline
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.clients) as pool:
        results = list(pool.map(lambda n: run_client(args.url, n, args.questions, deadline), range(args.clients)))
    wall = time.perf_counter() - began
    latencies = [s for client_latencies, _ in results for s in client_latencies]
    errors = [e for _, client_errors in results for e in client_errors]
    report = {
        "clients": args.clients,
        "questions_per_client": args.questions,
        "answered": len(latencies),
        "errors": len(errors),
        "p50_s": round(percentile(latencies, 50), 3),
        "p95_s": round(percentile(latencies, 95), 3),
        "wall_s": round(wall, 1),
        "throughput_qps": round(len(latencies) / wall, 2) if wall else None,
    }
    print(json.dumps(report, indent=2))
    for error in errors[:10]:
        print(error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
