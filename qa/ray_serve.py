"""The REST API on Ray Serve, for more readers than one process answers: ``qa serve --ray-address
ADDR --replicas N``. Each replica is a process of its own on some node of the cluster, loading the
models once and opening the archive from a file system every node mounts at the same path (build it
there with ``qa index FILES --archive DIR``); Ray Serve's proxy spreads the requests over them and
replaces a replica that dies.

On a real cluster (every node with this package installed and the archive's folder mounted)::

    ray start --head                                   # on the head node
    ray start --address HEAD:6379                      # on each other node
    qa serve --ray-address auto --replicas 4 --archive /shared/archive --api-key KEY

The routes are ``qa.rest``'s under ``/v1``, and ``/healthz``; uploads are not taken there (each
replica's articles would be its own): an archive is built with ``qa index`` instead.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

APP_NAME = "article-qa"


def build_replica_app(archive: str | None, api_keys: frozenset[str]):
    """One replica's ASGI app: the models and the seed article loaded, the archive opened."""
    from fastapi import FastAPI

    from qa.library import seed_document
    from qa.pipeline import ready_default_assistant
    from qa.rest import Service, add_to

    assistant = ready_default_assistant()
    if archive:
        assistant.use_archive(archive)
    seed = seed_document()
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    add_to(app, Service(assistant, None, seed.id, set(api_keys)))

    @app.middleware("http")
    async def name_the_replica(request, call_next):
        """Which replica answered (its process), on every response: requests are seen to spread."""
        response = await call_next(request)
        response.headers["X-Replica"] = str(os.getpid())
        return response

    return app


def deploy(address: str, replicas: int, archive: Path | None, api_keys: set[str], host: str, port: int) -> str:
    """Deploy ``replicas`` replicas of the REST API on the Ray cluster at ``address``; its URL."""
    import ray
    from ray import serve

    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    serve.start(http_options={"host": host, "port": port})
    shared_archive, keys = (str(archive) if archive else None), frozenset(api_keys)

    def builder():  # a function (not a partial): Ray Serve calls it on each replica to build its app
        return build_replica_app(shared_archive, keys)

    # One CPU each: a replica's answers are CPU-bound, and two on one core would only take turns.
    deployment = serve.deployment(serve.ingress(builder)(), name="answers", num_replicas=replicas,
                                  ray_actor_options={"num_cpus": 1})
    serve.run(deployment.bind(), name=APP_NAME, route_prefix="/")
    return f"http://{host}:{port}"


def serve_on_ray(address: str, replicas: int, archive: Path | None, api_keys: set[str], host: str, port: int) -> None:
    """Deploy, then serve until SIGTERM or Ctrl-C, and take the application down."""
    import signal
    import threading

    from ray import serve

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    url = deploy(address, replicas, archive, api_keys, host, port)
    print(f"The REST API on Ray Serve, {replicas} replicas, at {url}/v1", flush=True)
    while not stopping.wait(0.5):  # woken often: the main thread runs the signal handlers
        pass
    serve.delete(APP_NAME)
    print("Stopped.", flush=True)
