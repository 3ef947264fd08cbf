"""Running the service under uvicorn: one process, or `workers` processes on
one socket, each draining its answers gracefully on SIGTERM.

Several workers need the shared stores (PostgreSQL, Redis, a Chroma server):
each worker is a replica, and replicas keep nothing of their own.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import socket
import sys
import tempfile
import threading
from typing import Any

import uvicorn
from fastapi import FastAPI
from sse_starlette.sse import AppStatus

from agent_service import long_lived
from agent_service.api.middleware import log_config
from agent_service.config import Settings, get_settings

logger = logging.getLogger(__name__)


class SharedStoresNeededError(SystemExit):
    pass


def local_stores(settings: Settings) -> list[str]:
    """The stores that are still this process's own, each with the setting that shares it."""
    local = []
    if not (settings.database_url or "").startswith("postgresql"):
        local.append("the database (SQLite): set AGENT_SERVICE_DATABASE_URL to a PostgreSQL URL")
    if not settings.redis_url:
        local.append("live answers (in this process): set AGENT_SERVICE_REDIS_URL")
    if not settings.chroma_url:
        local.append("the vectors (embedded Chroma): set AGENT_SERVICE_CHROMA_URL")
    return local


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn calls this factory in each)."""
    from agent_service.api.app import create_app

    long_lived.enable()  # this process is a server: what it loads stays loaded
    return create_app(get_settings())


class DrainingServer(uvicorn.Server):
    """On SIGTERM: no new turns; streaming answers get the grace period, then
    end interrupted (`server_shutdown`) and saved, so their streams close with
    `done` before uvicorn stops waiting for connections."""

    announce = True  # say where the service is once it listens (one worker of several says it)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started and self.announce and self.servers:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"agent-service ready at http://{host}:{port}", file=sys.stderr, flush=True)

    async def serve(self, sockets: Any = None) -> None:
        # Answers end their streams themselves (below), not sse-starlette's cut at the signal.
        AppStatus.disable_automatic_graceful_drain()
        await super().serve(sockets)

    async def shutdown(self, sockets: Any = None) -> None:
        services = _services_of(self.config.loaded_app)
        draining = asyncio.create_task(services.runs.shutdown(services.settings.shutdown_grace))
        await super().shutdown(sockets)
        await draining


def _services_of(app: Any) -> Any:
    # uvicorn wraps the app in its middlewares, each keeping the next as `.app`.
    while not isinstance(app, FastAPI):
        app = app.app
    return app.state.services


def serve(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    timeout = settings.shutdown_grace + 5  # uvicorn waits that long for connections: the drain comes first
    if workers <= 1:
        long_lived.enable()
        from agent_service.api.app import create_app

        config = uvicorn.Config(
            create_app(settings), host=host, port=port, timeout_graceful_shutdown=timeout, log_config=log_config()
        )
        DrainingServer(config).run()
        return
    if local := local_stores(settings):
        raise SharedStoresNeededError(
            f"--workers {workers} runs {workers} replicas, and replicas share every store; still local:\n- "
            + "\n- ".join(local)
        )
    # Each worker counts its own requests; /metrics adds them up from here.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="agent-service-metrics-"))
    config = uvicorn.Config(
        "agent_service.server:worker_app",
        factory=True,
        host=host,
        port=port,
        timeout_graceful_shutdown=timeout,
        log_config=log_config(),
    )
    Workers(config, workers).run()


def _worker(config: uvicorn.Config, sockets: list[socket.socket], announce: bool) -> None:
    config.configure_logging()
    server = DrainingServer(config)
    server.announce = announce
    server.run(sockets=sockets)


class Workers:
    """`count` worker processes on one listening socket; one that dies is started
    again, and SIGTERM or SIGINT reaches each, which drains its answers and exits."""

    def __init__(self, config: uvicorn.Config, count: int) -> None:
        self.config = config
        self.count = count
        self.socket = config.bind_socket()
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.stopping = threading.Event()

    def _start_one(self, announce: bool = False) -> multiprocessing.process.BaseProcess:
        process = self.context.Process(target=_worker, args=(self.config, [self.socket], announce), daemon=False)
        process.start()
        return process

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        self.processes = [self._start_one(announce=index == 0) for index in range(self.count)]
        logger.info("started %d workers: %s", self.count, ", ".join(str(p.pid) for p in self.processes))
        while not self.stopping.wait(0.5):
            for index, process in enumerate(self.processes):
                if not process.is_alive():
                    logger.warning("worker %s ended (exit code %s): starting another", process.pid, process.exitcode)
                    self.processes[index] = self._start_one()
        for process in self.processes:
            process.terminate()  # SIGTERM: each worker drains its answers
        for process in self.processes:
            process.join()
        self.socket.close()
