"""Micro-batching: concurrent calls are processed together, each gets its own result, and a bad
request fails only its caller."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from qa.batching import MicroBatcher


class SlowSquarer:
    """Squares numbers, slowly enough for calls to pile up; records each batch; refuses 13."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, numbers: list[int]) -> list[int]:
        self.batches.append(list(numbers))
        self.started.set()
        self.release.wait(timeout=10)
        if 13 in numbers:
            raise ValueError("unlucky")
        return [n * n for n in numbers]


def test_a_call_alone_runs_at_once_as_a_batch_of_one():
    squarer = SlowSquarer()
    squarer.release.set()
    batcher = MicroBatcher(squarer, max_batch=4, name="test")
    assert batcher(3) == 9
    assert squarer.batches == [[3]]


def test_calls_waiting_behind_a_batch_run_together_up_to_max_batch():
    squarer = SlowSquarer()
    batcher = MicroBatcher(squarer, max_batch=4, name="test")
    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(batcher, 0)
        assert squarer.started.wait(timeout=10)  # the first batch is running: the rest queue
        rest = [pool.submit(batcher, n) for n in range(1, 7)]
        while batcher.waiting < 6:  # all six queued behind it
            threading.Event().wait(0.01)
        squarer.release.set()
        assert first.result(timeout=10) == 0
        assert [future.result(timeout=10) for future in rest] == [n * n for n in range(1, 7)]
    assert squarer.batches[0] == [0]
    assert sorted(n for batch in squarer.batches[1:] for n in batch) == list(range(1, 7))
    assert [len(batch) for batch in squarer.batches[1:]] == [4, 2]


def test_a_failing_request_fails_only_its_own_caller():
    squarer = SlowSquarer()
    batcher = MicroBatcher(squarer, max_batch=8, name="test")
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(batcher, 1)
        assert squarer.started.wait(timeout=10)
        others = {n: pool.submit(batcher, n) for n in (2, 13, 4)}
        while batcher.waiting < 3:
            threading.Event().wait(0.01)
        squarer.release.set()
        assert first.result(timeout=10) == 1
        assert others[2].result(timeout=10) == 4 and others[4].result(timeout=10) == 16
        with pytest.raises(ValueError, match="unlucky"):
            others[13].result(timeout=10)


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError):
        MicroBatcher(lambda xs: xs, max_batch=0, name="test")


def test_questions_read_together_get_the_spans_they_get_alone(reader, seed_text):
    paragraphs = seed_text.split("\n\n")
    questions = [
        "What does INDUS-X aim at?",
        "When did the US Defence Secretary arrive in New Delhi?",
        "Where was Austin accorded the guard of honour?",
        "What are India and the US exploring co-producing?",
        "What is the capital of France?",
    ]
    alone = [reader.read(question, paragraphs) for question in questions]
    together = reader.read_many([(question, paragraphs) for question in questions])
    for by_itself, in_batch in zip(alone, together):
        assert [(s.context_index, s.start, s.end) for s in in_batch[:1]] == [
            (s.context_index, s.start, s.end) for s in by_itself[:1]
        ]
        # The same, exactly, on ONNX (one window per run); torch pads batches (bf16 rounding).
        assert in_batch[0].margin == pytest.approx(by_itself[0].margin, abs=0.5 if reader.backend.startswith("torch") else 1e-5)
    with ThreadPoolExecutor(max_workers=5) as pool:  # the same through concurrent read() calls
        concurrent = list(pool.map(lambda q: reader.read(q, paragraphs), questions))
    assert [found[0].text for found in concurrent] == [found[0].text for found in alone]
