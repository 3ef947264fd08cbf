"""Throwaway servers of the shared stores for tests, each on 127.0.0.1 in a temp dir:
Redis (Debian's redis-server) and Chroma (`chroma run`); PostgreSQL is in tests/db/postgres.py."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_bin() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def redis_server() -> Iterator[str]:
    """A Redis server with no persistence; yields its URL."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="agent-service-redis-")
    server = subprocess.Popen(
        [
            str(redis_bin()),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: socket.create_connection(("127.0.0.1", port), timeout=0.5).close(), server, "Redis")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def chroma_server() -> Iterator[str]:
    """A Chroma server (`chroma run`, from the chromadb package); yields its URL."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="agent-service-chroma-")
    chroma = Path(sys.executable).with_name("chroma")
    server = subprocess.Popen(
        [str(chroma), "run", "--path", workdir, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{url}/api/v2/heartbeat", timeout=1).raise_for_status(), server, "Chroma")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait(probe, server: subprocess.Popen, name: str) -> None:  # noqa: ANN001 - a callable that raises until up
    deadline = time.monotonic() + 30
    while True:
        try:
            probe()
            return
        except (OSError, httpx.HTTPError):
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError(f"the {name} server did not start") from None
            time.sleep(0.05)
