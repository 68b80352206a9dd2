"""A training run's folder outlives its process: atomic saves, a status file that says where the run
stands, and a clean stop on SIGTERM or Ctrl-C."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
from pathlib import Path

logger = logging.getLogger(__name__)

STATUS_FILE = "status.json"


def save_atomically(directory: Path, write) -> None:
    """Write into a temporary sibling, then swap it in: a killed save leaves the old one whole."""
    temporary = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    write(temporary)
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    temporary.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


def read_status(output_dir: Path) -> dict | None:
    """The run's ``status.json`` (step, ETA, last checkpoint's scores), with ``running`` telling
    whether its process is still alive; None when the folder holds no run."""
    path = Path(output_dir) / STATUS_FILE
    if not path.exists():
        return None
    status = json.loads(path.read_text())
    try:
        os.kill(status["pid"], 0)
        alive = status["state"] == "training"
    except (ProcessLookupError, PermissionError, KeyError):
        alive = False
    return {**status, "running": alive}


def write_json_atomically(path: Path, payload: dict) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n")
    temporary.replace(path)


class StopRequest:
    """SIGTERM and Ctrl-C ask the loop to checkpoint and stop at the next step, not to die mid-step."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = {}

    def __enter__(self) -> StopRequest:
        for number in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[number] = signal.signal(number, self._request)
            except ValueError:  # not the main thread: the caller handles its own signals
                pass
        return self

    def _request(self, number, frame) -> None:
        logger.info("signal %d: checkpointing and stopping after this step", number)
        self.requested = True

    def __exit__(self, *exc) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
