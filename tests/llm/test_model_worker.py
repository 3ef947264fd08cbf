"""The embedded model runs in a worker process: its death ends one answer
(`interrupted`, `model_crash`), never the service, and the next answer gets a
new worker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from agent_service.api.app import create_app
from tests.conftest import Rows
from tests.sse import text_of, types

CRASHING_WORKER = [sys.executable, str(Path(__file__).with_name("crashing_worker.py"))]
LONG_ANSWER = {"query": "Write a long story about a lighthouse keeper.", "stream": True, "max_tokens": 400}


@pytest.fixture
def local(make_settings, live_server_for):
    app = create_app(make_settings(models={"local": {"provider": "llamacpp", "context_window": 2048}}))
    yield app, live_server_for(app)
    app.state.services.close()


async def stream_until_done(http: httpx.AsyncClient, on_first_token=None) -> list[dict]:
    events = []
    async with http.stream("POST", "/chat/chat", json=LONG_ANSWER) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            events.append(json.loads(line[len("data: ") :]))
            if on_first_token and events[-1]["type"] == "token" and len(events) == 2:
                on_first_token()
    return events


async def health_while(task: asyncio.Task, http: httpx.AsyncClient) -> int:
    """How many times /health answered 200 while `task` ran."""
    answered = 0
    while not task.done():
        assert (await http.get("/health", timeout=5)).status_code == 200
        answered += 1
        await asyncio.sleep(0.05)
    return answered


@pytest.mark.parametrize("how", ["sigkill", "sigill"])
async def test_a_dead_worker_ends_one_answer_and_the_next_gets_a_new_worker(local, how):
    app, url = local
    worker = app.state.services.models.local_worker
    if how == "sigill":
        worker.command = CRASHING_WORKER
    pids = []

    def kill_worker():
        pids.append(worker.pid)
        if how == "sigkill":
            os.kill(worker.pid, signal.SIGKILL)

    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        answer = asyncio.create_task(stream_until_done(http, on_first_token=kill_worker))
        assert await health_while(answer, http) >= 1
        events = await answer

        assert types(events) == ["metadata", "token", "error", "done"]
        error, done = events[-2], events[-1]
        expected = "SIGKILL" if how == "sigkill" else "SIGILL"
        assert expected in error["message"]
        assert done["status"] == "interrupted" and done["reason"] == "model_crash"
        row = Rows(app).messages(events[0]["conversation_id"])[-1]
        assert row.status == "interrupted" and row.meta["reason"] == "model_crash"
        assert row.content == text_of(events)

        worker.command = [sys.executable, "-m", "agent_service.llm.model_worker"]
        second = await stream_until_done(http)
    assert types(second) == ["metadata", "token", "done"] and second[-1]["status"] in ("complete", "partial")
    assert worker.pid is not None and worker.pid != pids[0]


async def test_a_client_gone_mid_answer_frees_the_worker_for_the_next(local):
    app, url = local
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        async with http.stream("POST", "/chat/chat", json=LONG_ANSWER) as response:
            async for line in response.aiter_lines():
                if '"type": "token"' in line or '"type":"token"' in line:
                    break  # hang up mid-answer
        pid = app.state.services.models.local_worker.pid
        second = await asyncio.wait_for(stream_until_done(http), timeout=120)
    assert types(second) == ["metadata", "token", "done"]
    assert app.state.services.models.local_worker.pid == pid  # the same worker, cancelled, not killed
