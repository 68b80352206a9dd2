"""The speed baseline: transformers' question-answering pipeline (removed in transformers 5.3) on
the shipped reader's weights, in an environment of its own with transformers 5.2.

``bench/latency.py`` starts it with ``baseline_python()`` (which makes ``.venv-bench/`` on first
use) and asks it questions one at a time over stdin/stdout, in JSON lines, taking turns with our
reader: ``{"question": ..., "dtype": "float32"}`` in, ``{"answer": ...}`` out. The pipeline reads the
whole seed article, as ``Assistant.ask`` does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BASELINE_VENV = REPO_ROOT / ".venv-bench"
# The last transformers with the question-answering pipeline; torch exactly as the project pins it
# (a local CPU wheel on these machines).
BASELINE_REQUIREMENTS = ["torch==2.13.0", "transformers==5.2.0"]


def baseline_python() -> Path:
    """The baseline environment's python, made on first use (about two minutes)."""
    python = BASELINE_VENV / "bin" / "python"
    marker = BASELINE_VENV / "requirements.txt"
    if not python.exists() or not marker.exists() or marker.read_text().split() != BASELINE_REQUIREMENTS:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(BASELINE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *BASELINE_REQUIREMENTS], check=True)
        marker.write_text("\n".join(BASELINE_REQUIREMENTS))
    return python


def serve(reader_dir: str, article_path: str, max_answer_len: int, dtypes: list[str]) -> None:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, pipeline

    article = Path(article_path).read_text(encoding="utf-8")
    pipelines = {
        dtype: pipeline(
            "question-answering",
            model=AutoModelForQuestionAnswering.from_pretrained(reader_dir, dtype=getattr(torch, dtype)),
            tokenizer=AutoTokenizer.from_pretrained(reader_dir),
            device="cpu",
        )
        for dtype in dtypes
    }
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        result = pipelines[request["dtype"]](
            question=request["question"], context=article, handle_impossible_answer=True, max_answer_len=max_answer_len
        )
        print(json.dumps({"answer": result["answer"]}), flush=True)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(","))
