"""Speed of the chatbot on the seed article, against a baseline run in the same process.

    .venv/bin/python bench/latency.py [--asks 150] [--runs 5] [--json bench/results.json]

Measures:
- warm latency per question (p50/p95 over the dev questions asked in turn, >= 100 asks per round,
  medians over several rounds) of ``Assistant.ask`` and of the baseline: the transformers
  question-answering pipeline reading the whole article with the same reader weights, in fp32 and
  in bf16 (as our reader runs where the CPU has bf16); the ratios; and F1 of each on indus_x_dev;
- cold start: a new process up to its first answer (``qa ask`` and ``qa.ask()``, the seed index on
  disk) and ``import qa``, with peak RSS, on each shipped backend (medians of 5);
- serving: ``qa serve`` until its port answers and until its first answer on ``/ask``, and its RSS
  then, on each shipped backend (medians of 5);
- indexing throughput in sentences per second (median of 5 builds), on the seed article and on 20
  New York Times articles;
- follow-ups: a question, then a follow-up that refers to it, in a ``Conversation``; p50/p95 of the
  first questions and of the follow-ups, and their ratio (medians over rounds).
- shapes: a fact question and one of another shape (a verdict, a reason, a quote, a count...) in
  turn; p50/p95 of each and their ratio (medians over rounds).

``--sections follow_up`` (say) runs only the named sections; ``--reader DIR`` times another reader there.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qa.articles import ArticleStore
from qa.backends import BACKEND_VARIABLE, ONNX_INT8, TORCH, cpu_has_native_bf16, default_backend
from qa.embedding import Embedder
from qa.library import seed_document
from qa.paths import SHARED_DIR
from qa.pipeline import Assistant
from qa.reader import DEFAULT_READER_DIR, Reader
from qa.training.end_to_end import article_document, percentile
from qa.training.squad import load_articles, load_questions, score_predictions

COLD_START = "from qa import ask; print(ask('What does INDUS-X aim at?').text)"


def timed(function, *args, **kwargs) -> tuple[float, object]:
    began = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - began, result


def latency_figures(seconds: list[float]) -> dict:
    return {"p50_ms": 1000 * percentile(seconds, 50), "p95_ms": 1000 * percentile(seconds, 95), "n": len(seconds)}


def warm_latency(asks: int, runs: int) -> dict:
    """``runs`` rounds of ``asks`` questions to each system, taking turns question by question.

    The baseline is the transformers question-answering pipeline reading the whole article with the
    same reader weights, once in fp32 (as transformers runs it) and once in bf16 like our reader
    (where the CPU has native bf16), so neither side gets a precision edge. It runs in a process of
    its own with transformers 5.2, the last release that has it (``bench/pipeline_baseline.py``).
    Figures are the medians over rounds of each round's p50/p95, and of the per-round ratios.
    """
    from pipeline_baseline import baseline_python

    dev = load_questions(SHARED_DIR / "eval" / "indus_x_dev.json")
    article = seed_document().text
    with tempfile.TemporaryDirectory() as index_dir:
        # Ours on each shipped backend, the default first; each with its own index (the embedder's
        # backend is part of an index's identity).
        assistants = {}
        for backend in dict.fromkeys((default_backend(), ONNX_INT8, TORCH)):
            assistant = Assistant(Path(index_dir) / backend, reader=Reader(backend=backend), embedder=Embedder(backend=backend))
            assistant.add(seed_document())
            assistant.ask(dev[0].question)  # warm: models loaded, index built
            assistants[f"ours_{backend}"] = assistant
        ours = next(iter(assistants))
        max_answer_len = assistant.reader.settings.max_answer_tokens

        dtypes = ["float32", "bfloat16"] if cpu_has_native_bf16() else ["float32"]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as article_file:
            article_file.write(article)
            article_file.flush()
            worker = subprocess.Popen(
                [str(baseline_python()), str(Path(__file__).with_name("pipeline_baseline.py")), str(DEFAULT_READER_DIR),
                 article_file.name, str(max_answer_len), ",".join(dtypes)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
            )
            json.loads(worker.stdout.readline())  # ready: models loaded

        def baseline(dtype: str):
            def answer(question: str) -> str:
                worker.stdin.write(json.dumps({"question": question, "dtype": dtype}) + "\n")
                worker.stdin.flush()
                return json.loads(worker.stdout.readline())["answer"]
            return answer

        systems = {name: (lambda question, a=a: a.ask(question).text) for name, a in assistants.items()}
        systems["baseline_pipeline_fp32"] = baseline("float32")
        if "bfloat16" in dtypes:
            systems["baseline_pipeline_bf16"] = baseline("bfloat16")
        for answer in systems.values():
            answer(dev[0].question)
        rounds = []
        for _ in range(runs):
            seconds = {name: [] for name in systems}
            predictions = {name: {} for name in systems}
            names = list(systems)
            for turn in range(asks):
                question = dev[turn % len(dev)]
                # Rotate who goes first so that no system always runs on the warmest cache.
                for name in names[turn % len(names):] + names[: turn % len(names)]:
                    elapsed, text = timed(systems[name], question.question)
                    seconds[name].append(elapsed)
                    predictions[name][question.id] = text
            rounds.append({
                name: {**latency_figures(seconds[name]), "f1_indus_x_dev": score_predictions(dev, predictions[name]).f1}
                for name in systems
            })
        worker.stdin.close()
        worker.wait()

    def median_of(name: str, key: str) -> float:
        return statistics.median(r[name][key] for r in rounds)

    figures = {
        name: {"p50_ms": median_of(name, "p50_ms"), "p95_ms": median_of(name, "p95_ms"),
               "f1_indus_x_dev": median_of(name, "f1_indus_x_dev"), "asks_per_round": asks}
        for name in systems
    }
    for name in systems:
        if name != ours:
            for q in ("p50", "p95"):
                figures[name][f"{ours}_faster_{q}"] = statistics.median(
                    r[name][f"{q}_ms"] / r[ours][f"{q}_ms"] for r in rounds
                )
    return {"rounds": runs, "bf16_native": cpu_has_native_bf16(), **figures}


def run_measured(command: list[str], env: dict) -> tuple[float, int]:
    """Seconds ``command`` took and its peak RSS in MB. GNU time reports the RSS: a child forked
    from this process (models loaded by an earlier section) would count this one's pages too."""
    began = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%M", *command], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - began
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed: {result.stderr[-2000:]}")
    return elapsed, int(result.stderr.split()[-1]) // 1024


COLD_QUESTION = "What does INDUS-X aim at?"


def cold_start(runs: int = 5) -> dict:
    """A new process up to its first answer, on each shipped backend: ``qa ask`` and ``qa.ask()``,
    with the seed index on disk (built by a first, untimed run), and ``import qa``."""
    figures = {}
    qa_command = str(Path(sys.executable).with_name("qa"))
    commands = {
        "qa_ask": [qa_command, "ask", COLD_QUESTION],
        "python_ask": [sys.executable, "-c", f"from qa import ask; print(ask({COLD_QUESTION!r}).text)"],
        "import_qa": [sys.executable, "-c", "import qa"],
    }
    for backend in dict.fromkeys((default_backend(), ONNX_INT8, TORCH)):
        with tempfile.TemporaryDirectory() as index_dir:
            env = {**os.environ, "QA_INDEX_DIR": index_dir, "HF_HUB_OFFLINE": "1", BACKEND_VARIABLE: backend}
            run_measured(commands["qa_ask"], env)  # builds the seed index
            for label, command in commands.items():
                measured = [run_measured(command, env) for _ in range(runs)]
                figures[f"{label}_{backend}"] = {
                    "median_s": round(statistics.median(m[0] for m in measured), 3),
                    "median_peak_rss_mb": statistics.median(m[1] for m in measured),
                    "runs_s": [round(m[0], 3) for m in measured],
                }
    return figures


def serve_start(runs: int = 5) -> dict:
    """``qa serve`` on each shipped backend: seconds until its port answers, seconds until its
    first answer on ``/ask`` (from the start), and its RSS after that answer (medians of ``runs``)."""
    import socket

    from gradio_client import Client

    qa_command = str(Path(sys.executable).with_name("qa"))
    figures = {}
    for backend in dict.fromkeys((default_backend(), ONNX_INT8, TORCH)):
        with tempfile.TemporaryDirectory() as index_dir:
            env = {**os.environ, "QA_INDEX_DIR": index_dir, "HF_HUB_OFFLINE": "1", BACKEND_VARIABLE: backend,
                   "GRADIO_ANALYTICS_ENABLED": "False"}
            run_measured([qa_command, "ask", COLD_QUESTION], env)  # builds the seed index
            measured = []
            for _ in range(runs):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", 0))
                    port = probe.getsockname()[1]
                began = time.perf_counter()
                server = subprocess.Popen([qa_command, "serve", "--port", str(port)], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    while True:
                        if server.poll() is not None:
                            raise RuntimeError(f"qa serve exited with {server.returncode}")
                        try:
                            socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
                            break
                        except OSError:
                            time.sleep(0.02)
                    ready = time.perf_counter() - began
                    answer = Client(f"http://127.0.0.1:{port}", verbose=False).predict(COLD_QUESTION, "", api_name="/ask")
                    first_answer = time.perf_counter() - began
                    if "error" in answer:
                        raise RuntimeError(answer["error"])
                    rss = next(int(line.split()[1]) for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                               if line.startswith("VmRSS:")) // 1024
                    measured.append((ready, first_answer, rss))
                finally:
                    server.terminate()
                    server.wait(timeout=30)
            figures[backend] = {
                "ready_median_s": round(statistics.median(m[0] for m in measured), 2),
                "first_answer_median_s": round(statistics.median(m[1] for m in measured), 2),
                "rss_after_first_answer_median_mb": statistics.median(m[2] for m in measured),
                "runs": [[round(m[0], 2), round(m[1], 2), m[2]] for m in measured],
            }
    return figures


def indexing_throughput(builds: int = 5) -> dict:
    embedder = Embedder()
    nyt = load_articles(SHARED_DIR / "eval" / "nyt_news_dev.json.gz")[:20]
    corpora = {
        "seed_article": [seed_document()],
        "nyt_20_articles": [article_document(article)[0] for article in nyt],
    }
    embedder.embed(["warm up"])
    figures = {}
    for name, documents in corpora.items():
        rates = []
        for _ in range(builds):
            with tempfile.TemporaryDirectory() as index_dir:
                store = ArticleStore(Path(index_dir), embedder)
                began = time.perf_counter()
                sentences = sum(len(store.build(d).sentences) for d in documents)
                rates.append(sentences / (time.perf_counter() - began))
        figures[name] = {"sentences": sentences, "median_sentences_per_s": statistics.median(rates)}
    return figures


# (first question, follow-up) pairs about the seed article.
CONVERSATIONS = [
    ("Who is the US Secretary of Defence?", "When did he arrive in New Delhi?"),
    ("Who is the US Secretary of Defence?", "Who did he hold talks with?"),
    ("Who is India's Defence Minister?", "What did he discuss?"),
    ("What did India and the US conclude?", "when?"),
]


def follow_up_latency(asks: int, runs: int, reader_dir: Path | None = None) -> dict:
    """Each round asks the CONVERSATIONS in turn until ``asks`` follow-ups: the first question
    alone (timed as "first"), then its follow-up with that turn as history (timed as "follow_up"),
    with the shipped reader or the one in ``reader_dir``."""
    from qa.conversation import Conversation
    from qa.reader import Reader

    with tempfile.TemporaryDirectory() as index_dir:
        assistant = Assistant(index_dir, reader=Reader(reader_dir) if reader_dir else None)
        assistant.add(seed_document())
        assistant.ask(CONVERSATIONS[0][0])  # warm: models loaded, index built
        rounds = []
        for _ in range(runs):
            seconds = {"first": [], "follow_up": []}
            for turn in range(asks):
                first, follow_up = CONVERSATIONS[turn % len(CONVERSATIONS)]
                conversation = Conversation(assistant)
                seconds["first"].append(timed(conversation.ask, first)[0])
                seconds["follow_up"].append(timed(conversation.ask, follow_up)[0])
            rounds.append({name: latency_figures(values) for name, values in seconds.items()})
    figures = {
        name: {q: statistics.median(r[name][q] for r in rounds) for q in ("p50_ms", "p95_ms")}
        for name in ("first", "follow_up")
    }
    for q in ("p50", "p95"):
        figures[f"follow_up_over_first_{q}"] = statistics.median(
            r["follow_up"][f"{q}_ms"] / r["first"][f"{q}_ms"] for r in rounds
        )
    return {"rounds": runs, "asks_per_round": asks, **figures}


# Questions of each shape on the seed article, beside fact questions of it (issue 34: a shaped
# answer's p50 at most 2x a fact answer's).
SHAPED_QUESTIONS = [
    "Austin arrived on Monday, right?",
    "Was the guard of honour at the Manekshaw Centre?",
    "Why did Austin visit India?",
    "How will INDUS-X be launched?",
    "Tell me more about the undersea domain",
    "What did Rajnath Singh tweet?",
    "How many things are India and the US exploring co-producing?",
    "Which vehicles will be co-produced?",
]
FACT_QUESTIONS = [
    "Who is the US Secretary of Defence?",
    "When did the US Defence Secretary arrive in New Delhi?",
    "Where was he accorded the guard of honour?",
    "What does INDUS-X aim at?",
    "Who is India's Defence Minister?",
    "What did India and the US conclude?",
    "Where will the formal launch of INDUS-X be held?",
    "What is INDUS-X focused on?",
]


def shape_latency(asks: int, runs: int) -> dict:
    """Each round asks a fact question and a shaped one in turn (``FACT_QUESTIONS``,
    ``SHAPED_QUESTIONS``) until ``asks`` of each; p50/p95 of each, and their ratio (medians over rounds)."""
    with tempfile.TemporaryDirectory() as index_dir:
        assistant = Assistant(index_dir)
        assistant.add(seed_document())
        assistant.ask(FACT_QUESTIONS[0])  # warm: models loaded, index built
        rounds = []
        for _ in range(runs):
            seconds = {"fact": [], "shaped": []}
            for turn in range(asks):
                seconds["fact"].append(timed(assistant.ask, FACT_QUESTIONS[turn % len(FACT_QUESTIONS)])[0])
                seconds["shaped"].append(timed(assistant.ask, SHAPED_QUESTIONS[turn % len(SHAPED_QUESTIONS)])[0])
            rounds.append({name: latency_figures(values) for name, values in seconds.items()})
    figures = {
        name: {q: statistics.median(r[name][q] for r in rounds) for q in ("p50_ms", "p95_ms")} for name in ("fact", "shaped")
    }
    for q in ("p50", "p95"):
        figures[f"shaped_over_fact_{q}"] = statistics.median(r["shaped"][f"{q}_ms"] / r["fact"][f"{q}_ms"] for r in rounds)
    return {"rounds": runs, "asks_per_round": asks, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--asks", type=int, default=150, help="questions per round and system")
    parser.add_argument("--runs", type=int, default=5, help="rounds; figures are medians over them")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--reader", type=Path, help="follow_up: this reader model directory, not the shipped one")
    sections = {
        "warm": lambda args: warm_latency(args.asks, args.runs),
        "cold_start": lambda args: cold_start(),
        "serve": lambda args: serve_start(),
        "indexing": lambda args: indexing_throughput(),
        "follow_up": lambda args: follow_up_latency(args.asks, args.runs, args.reader),
        "shapes": lambda args: shape_latency(args.asks, args.runs),
    }
    parser.add_argument("--sections", nargs="+", choices=list(sections), default=list(sections))
    args = parser.parse_args()
    results = {name: sections[name](args) for name in args.sections}
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
