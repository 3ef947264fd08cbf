"""`agent-service serve --workers N`: refused on the embedded stores, served on shared ones."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.db.postgres import postgres_bin, postgres_server
from tests.fake_openai import FakeOpenAI
from tests.servers import chroma_server, redis_bin, redis_server
from tests.service_process import SERVE, Service
from tests.sse import parse_frames, types

pytestmark = pytest.mark.http_upstream  # the service runs in processes of its own


def test_workers_are_refused_while_a_store_is_local(tmp_path: Path):
    env = {**os.environ, "AGENT_SERVICE_DATA_DIR": str(tmp_path), "AGENT_SERVICE_REDIS_URL": "redis://127.0.0.1:1/0"}
    refused = subprocess.run(
        [sys.executable, "-c", SERVE, "serve", "--workers", "2", "--port", "0"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert refused.returncode != 0
    assert "AGENT_SERVICE_DATABASE_URL" in refused.stderr and "AGENT_SERVICE_CHROMA_URL" in refused.stderr
    assert "AGENT_SERVICE_REDIS_URL" not in refused.stderr  # that one is shared already


@pytest.mark.skipif(
    postgres_bin() is None or redis_bin() is None or (os.geteuid() == 0 and shutil.which("runuser") is None),
    reason="PostgreSQL and Redis servers are needed (make test installs them where it can)",
)
def test_two_workers_serve_on_shared_stores(tmp_path: Path, upstream: FakeOpenAI):
    with postgres_server() as database, redis_server() as redis, chroma_server() as chroma:
        stores = {
            "AGENT_SERVICE_DATABASE_URL": database,
            "AGENT_SERVICE_REDIS_URL": redis,
            "AGENT_SERVICE_CHROMA_URL": chroma,
        }
        service = Service(tmp_path, upstream, **stores)
        service.serve_args = ["--workers", "2"]
        service.start()
        try:
            health = httpx.get(f"{service.url}/health").json()
            turns = [
                parse_frames(
                    httpx.post(f"{service.url}/chat/chat", json={"query": f"hi {n}", "stream": True}, timeout=30).text
                )
                for n in range(6)
            ]
            metrics = httpx.get(f"{service.url}/metrics").text
        finally:
            service.signal(signal.SIGTERM)
            service.wait(timeout=30)

    assert health["stores"] == {"database": "ok", "redis": "ok", "chroma": "ok"}
    assert all(types(turn) == ["metadata", "token", "done"] for turn in turns)
    assert 'agent_service_requests_total{method="POST",route="/chat/chat",status="200"} 6.0' in metrics
