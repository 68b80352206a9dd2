"""Micro-batching: model calls from many threads run together, without waiting for company.

A question asked alone runs at once. While a batch runs, the calls that arrive queue up, and the
next batch takes them all (up to ``max_batch``): batches grow with the load by themselves, and
no call ever waits for a timer. On two cores a batched forward costs less per question than one
question at a time, and Gradio's worker threads stop queueing behind each other's model calls.

>>> double = MicroBatcher(lambda numbers: [2 * n for n in numbers], max_batch=8, name="double")
>>> double(21)
42
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Request = TypeVar("Request")
Result = TypeVar("Result")


class MicroBatcher(Generic[Request, Result]):
    """Calls ``process`` (a list of requests → their results, in order) from one worker thread on
    whatever requests are waiting, at most ``max_batch`` at a time.

    If a batch raises, each of its requests is run again alone, so that one bad request fails
    only its own caller.
    """

    def __init__(self, process: Callable[[list[Request]], list[Result]], max_batch: int, name: str) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self.process = process
        self.max_batch = max_batch
        self.name = name
        self._waiting: list[tuple[Request, Future]] = []
        self._condition = threading.Condition()
        self._worker: threading.Thread | None = None

    @property
    def waiting(self) -> int:
        """How many requests wait for the next batch."""
        with self._condition:
            return len(self._waiting)

    def __call__(self, request: Request) -> Result:
        """``process([request])[0]``, possibly computed in a batch with other threads' requests."""
        future: Future = Future()
        with self._condition:
            self._waiting.append((request, future))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name=f"batch-{self.name}", daemon=True)
                self._worker.start()
            self._condition.notify()
        return future.result()

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._waiting:
                    self._condition.wait()
                batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            self._run(batch)

    def _run(self, batch: list[tuple[Request, Future]]) -> None:
        try:
            results = self.process([request for request, _ in batch])
        except BaseException as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            logger.warning("%s: a batch of %d failed (%r); running each alone", self.name, len(batch), error)
            for one in batch:
                self._run([one])
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
