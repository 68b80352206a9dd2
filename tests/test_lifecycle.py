"""`qa serve` stops cleanly on SIGTERM and Ctrl-C: one line, exit 0, its indexing worker gone and
the half-built index of an article it was indexing removed; a restart serves as before."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

STARTUP_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(index_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    environment = {**os.environ, "QA_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        assert server.poll() is None, server.communicate()
        time.sleep(0.3)
    server.kill()
    pytest.fail("qa serve did not get ready")


def children(pid: int) -> set[int]:
    """The processes ``pid`` started, and theirs."""
    found, frontier = set(), {pid}
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == parent and int(entry.name) not in found:
                    found.add(int(entry.name))
                    frontier.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_indexing(index_dir: Path) -> tuple[subprocess.Popen, set[int]]:
    """A server mid-way through indexing a 1.4 M-character upload, and its child processes."""
    server, url = start(index_dir)
    text = " ".join(f"Report {n} says ship {n} docked at berth {n % 7} on day {n % 30}." for n in range(25_000))
    job = httpx.post(f"{url}/v1/articles", files={"file": ("harbour-log.txt", text.encode(), "text/plain")}, timeout=30).json()
    assert "id" in job, job
    deadline = time.monotonic() + 120
    while httpx.get(f"{url}/v1/jobs/{job['id']}").json()["message"].startswith(("Waiting", "Reading")):
        assert time.monotonic() < deadline, "the job never started indexing"
        time.sleep(0.2)
    workers = children(server.pid)
    assert workers  # the indexing worker, at least
    return server, workers


@pytest.mark.slow
def test_sigterm_mid_indexing_and_ctrl_c_stop_cleanly_and_a_restart_serves(tmp_path):
    index_dir = tmp_path / "index"
    server, workers = start_indexing(index_dir)
    try:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, err[-2000:]
    assert out.strip().splitlines()[-1].startswith("Stopped:") and "Traceback" not in err
    time.sleep(0.5)
    assert not [pid for pid in workers if alive(pid)]
    # The half-built index is gone: no article folder holds an unpublished version.
    leftovers = [p for p in index_dir.rglob("*") if p.is_dir() and (p.name.startswith(".") or p.name.endswith((".partial", ".tmp")))]
    assert not leftovers, leftovers
    assert not any("harbour-log" in p.name for p in index_dir.iterdir())  # not kept half-built

    restarted, url = start(index_dir)
    try:
        answer = httpx.post(f"{url}/v1/ask", json={"question": "When did the US Defence Secretary arrive?"}, timeout=30)
        assert answer.json()["answer"] == "Sunday"
        restarted.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = restarted.communicate(timeout=30)
    finally:
        if restarted.poll() is None:
            restarted.kill()
    assert restarted.returncode == 0 and "Traceback" not in err and out.strip().splitlines()[-1].startswith("Stopped:")


@pytest.mark.slow
def test_a_server_killed_mid_upload_takes_its_worker_along_and_restarts_intact(tmp_path):
    index_dir = tmp_path / "index"
    server, workers = start_indexing(index_dir)
    try:
        server.kill()  # SIGKILL: no handler runs
        server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    deadline = time.monotonic() + 5
    while [pid for pid in workers if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)]  # the worker died with it

    restarted, url = start(index_dir)
    try:
        assert not any("harbour-log" in p.name for p in index_dir.iterdir())  # the half-built index, removed at start
        answer = httpx.post(f"{url}/v1/ask", json={"question": "When did the US Defence Secretary arrive?"}, timeout=30)
        assert answer.json()["answer"] == "Sunday"
        restarted.send_signal(signal.SIGTERM)
        restarted.communicate(timeout=30)
    finally:
        if restarted.poll() is None:
            restarted.kill()
    assert restarted.returncode == 0
