"""The REST API on Ray Serve, on a real local two-node Ray cluster: two replicas behind Serve's
proxy both answer, as one process does, and a replica killed is replaced while the other answers."""

from __future__ import annotations

import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

KEY = "serve-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_two_replicas_on_two_nodes_answer_and_one_killed_is_replaced(tmp_path):
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster

    from qa.ray_serve import deploy

    environment = {"QA_INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    os.environ.update(environment)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    try:
        cluster.wait_for_nodes()
        url = deploy(cluster.address, 2, None, {KEY}, "127.0.0.1", free_port())
        client = httpx.Client(headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
        ask = {"question": "When did the US Defence Secretary arrive?"}

        def replicas_answering(tries: int = 40) -> set[int]:
            """The replicas that answered ``tries`` questions, 8 at a time: each answer right."""
            def one(_) -> int:
                response = client.post(f"{url}/v1/ask", json=ask)
                assert response.json()["answer"] == "Sunday", response.text
                return int(response.headers["X-Replica"])

            with ThreadPoolExecutor(8) as pool:
                return set(pool.map(one, range(tries)))

        first = replicas_answering()
        assert len(first) == 2  # both replicas answer, each as one process does
        assert client.post(f"{url}/v1/articles", data={"text": "x"}).status_code == 405  # no uploads there

        killed = min(first)
        os.kill(killed, signal.SIGKILL)  # a replica's process dies
        survivor = first - {killed}
        # The other replica keeps answering while the killed one is replaced.
        answered = [client.post(f"{url}/v1/ask", json=ask) for _ in range(10)]
        assert sum(r.status_code == 200 for r in answered) >= 8
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            now = replicas_answering(10)
            if len(now) == 2 and now != first:
                break
            time.sleep(1)
        assert len(now) == 2 and survivor <= now and killed not in now
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
            cluster.shutdown()
            for name in environment:
                os.environ.pop(name, None)
