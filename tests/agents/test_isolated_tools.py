"""Tools of a module that says `isolated = True` run in the tool worker process: a runaway
call is stopped at its timeout or its memory limit, costs only its caller, and the next
call gets a new worker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from agent_service.api.app import create_app

RUNAWAYS = '''
from langchain_core.tools import tool

isolated = True


@tool
def spin(seconds: float) -> str:
    """Keeps the CPU busy for `seconds`."""
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "done"


@tool
def hog(megabytes: int) -> str:
    """Holds `megabytes` of memory."""
    return str(len(bytearray(megabytes * 1024 * 1024)))
'''


@pytest.fixture
def served(make_settings, live_server_for, tmp_path: Path):
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "runaways.py").write_text(RUNAWAYS)
    app = create_app(make_settings(tools_dir=tools, tool_timeout=3))
    yield live_server_for(app)
    app.state.services.close()


async def call(http: httpx.AsyncClient, name: str, **tool_input) -> httpx.Response:
    return await http.post("/tools/call", json={"name": name, "tool_input": tool_input}, timeout=30)


async def test_a_call_past_its_timeout_is_stopped_and_the_service_keeps_answering(served):
    async with httpx.AsyncClient(base_url=served) as http:
        warm = await call(http, "spin", seconds=0.1)
        assert warm.status_code == 200, warm.text  # the worker is up
        started = time.monotonic()
        runaway = asyncio.create_task(call(http, "spin", seconds=600))
        health = []
        while not runaway.done():
            health.append((await http.get("/health", timeout=5)).status_code)
            await asyncio.sleep(0.1)
        stopped = await runaway
        elapsed = time.monotonic() - started
        after = await call(http, "spin", seconds=0.1)

    # Stopped by the worker's own timeout (400) or the route's, a moment before it (504).
    assert stopped.status_code in (400, 504) and "spin" in stopped.json()["msg"], stopped.text
    assert elapsed < 30  # stopped at its timeout, not after its 600 s
    assert health and set(health) == {200}
    assert after.json()["output"] == "done"  # a new worker


async def test_a_call_past_its_memory_limit_fails_alone(served):
    async with httpx.AsyncClient(base_url=served) as http:
        hog = await call(http, "hog", megabytes=4000)
        small = await call(http, "hog", megabytes=10)

    assert hog.status_code == 400 and "more memory than a tool call may use" in hog.json()["msg"]
    assert small.json()["output"] == str(10 * 1024 * 1024)


async def test_a_slow_call_holds_up_only_its_own_caller(served):
    async with httpx.AsyncClient(base_url=served) as http:
        assert (await call(http, "spin", seconds=0.1)).status_code == 200
        slow = asyncio.create_task(call(http, "spin", seconds=600))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        quick = await call(http, "spin", seconds=0.1)
        waited = time.monotonic() - started
        await slow

    assert quick.json()["output"] == "done"
    assert waited < 2.5  # another worker took it (the slow call holds its own for 3 s)
