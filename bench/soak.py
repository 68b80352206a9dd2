"""A soak: varied questions to a running server's REST API for a long while, its memory read every
minute. Questions are every question of a SQuAD-format file, in turn, asked of the seed article and
(with ``--archive``) of the whole archive, each with or without the previous turn as history.

    qa serve --port 7880 &
    .venv/bin/python bench/soak.py --url http://127.0.0.1:7880 --pid PID [--minutes 20] [--clients 4]

Prints the errors (any answer other than 200, or a "busy" retried past its second try), the answers
per second, and the server's RSS each minute with its growth after the first minute.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import httpx

from qa.paths import SHARED_DIR
from qa.training.squad import load_questions


def rss_mb(pid: int) -> float:
    """The process's resident memory, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:7880")
    parser.add_argument("--pid", type=int, required=True, help="the server's process id")
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--questions-from", type=Path, default=SHARED_DIR / "eval" / "nyt_news_dev.json.gz")
    args = parser.parse_args()
    questions = [q.question for q in load_questions(args.questions_from)]
    stop_at = time.monotonic() + args.minutes * 60
    answered, errors, lock = [0], [], threading.Lock()

    def client(number: int) -> None:
        with httpx.Client(timeout=30) as http:
            turn, previous = number, None
            while time.monotonic() < stop_at:
                question = questions[turn % len(questions)]
                body = {"question": question}
                if previous and turn % 3 == 0:  # now and then a follow-up of the previous turn
                    body["history"] = [previous]
                for _ in range(2):  # a "busy" answer is waited out and asked once more
                    response = http.post(f"{args.url}/v1/ask", json=body)
                    if response.status_code != 503:
                        break
                    time.sleep(float(response.headers.get("retry-after", "1")))
                with lock:
                    if response.status_code == 200:
                        answered[0] += 1
                        previous = {"question": question, "answer": response.json()["answer"]}
                    else:
                        errors.append(f"{response.status_code}: {response.text[:200]}")
                turn += args.clients

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(args.clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    memory = []
    while time.monotonic() < stop_at:
        memory.append(round(rss_mb(args.pid), 1))
        time.sleep(min(60, max(0.0, stop_at - time.monotonic())))
    for thread in threads:
        thread.join(60)
    memory.append(round(rss_mb(args.pid), 1))
    seconds = time.monotonic() - began
    after_first_minute = memory[1] if len(memory) > 1 else memory[0]
    print(json.dumps({
        "minutes": args.minutes, "clients": args.clients, "answered": answered[0], "errors": len(errors),
        "answers_per_s": round(answered[0] / seconds, 2), "rss_mb_each_minute": memory,
        "rss_growth_after_first_minute": round(memory[-1] / after_first_minute - 1, 3),
    }, indent=2))
    for error in errors[:10]:
        print(error)


if __name__ == "__main__":
    main()
