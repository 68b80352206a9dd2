"""The entity lists ("Who is mentioned?", "Which organisations…", "Which places…") on the seed
article against the hand-made list of its names (``bench/data/seed_entities.json``): precision and
recall per kind, and what the first and a later names question cost.

    .venv/bin/python bench/entities.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from qa.library import seed_document
from qa.pipeline import Assistant

HAND_LIST = Path(__file__).parent / "data" / "seed_entities.json"
QUESTIONS = {"people": "Who is mentioned?", "organisations": "Which organisations are mentioned?", "places": "Which places are mentioned?"}


def main() -> None:
    wanted = json.loads(HAND_LIST.read_text())
    with tempfile.TemporaryDirectory() as folder:
        assistant = Assistant(Path(folder))
        assistant.add(seed_document())
        assistant.ask("What does INDUS-X aim at?")  # models loaded: the names question's own cost below
        print("| kind | listed | right | precision | recall | seconds |")
        print("|---|---|---|---|---|---|")
        for kind, question in QUESTIONS.items():
            began = time.perf_counter()
            listed = [c.text for c in assistant.ask(question).citations]
            seconds = time.perf_counter() - began
            right = [name for name in listed if name in wanted[kind]]
            print(f"| {kind} | {', '.join(listed)} | {len(right)} | {len(right) / max(len(listed), 1):.0%} | "
                  f"{len(right) / len(wanted[kind]):.0%} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
