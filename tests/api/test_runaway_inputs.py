"""The inputs that froze the whole process (a reply that sent the parser into cubic time, a
round() to ten million digits) now end at once, and /health answers throughout."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from agent_service.api.app import create_app
from tests.conftest import REPO
from tests.fake_openai import FakeOpenAI
from tests.sse import parse_frames


@pytest.fixture
def served(make_settings, live_server_for, upstream: FakeOpenAI):
    models = {"react": {"provider": "openai", "base_url": upstream.base_url, "agent_style": "react", "max_retries": 0}}
    app = create_app(make_settings(models=models, tools_dir=REPO / "tools"))
    yield live_server_for(app)
    app.state.services.close()


async def slowest_health_while(work, url: str) -> float:
    """Run `work` and poll /health meanwhile; the slowest /health answer, in seconds."""
    slowest = 0.0
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        task = asyncio.create_task(work(http))
        while not task.done():
            started = time.perf_counter()
            assert (await http.get("/health")).status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            await asyncio.sleep(0.02)
        await task
    return slowest


async def test_a_reply_that_made_the_parser_cubic_is_an_answer(served, upstream: FakeOpenAI):
    upstream.enqueue("Action" + " " * 20_000 + "x")  # minutes of parsing before
    events = []

    async def ask(http: httpx.AsyncClient) -> None:
        response = await http.post("/chat/agent_chat", json={"query": "hi", "stream": True, "model_name": "react"})
        events.extend(parse_frames(response.text))

    slowest = await slowest_health_while(ask, served)

    assert events[-1]["type"] == "done" and events[-1]["status"] == "complete"
    assert slowest < 2.0  # generous: the point is that it is not the seconds to minutes it was


async def test_round_to_ten_million_digits_is_refused_at_once(served):
    answers = []

    async def call(http: httpx.AsyncClient) -> None:
        body = {"name": "calculator", "tool_input": {"expression": "round(1, -10**7)"}}
        answers.append(await http.post("/tools/call", json=body))

    slowest = await slowest_health_while(call, served)

    assert answers[0].status_code == 400 and "at most 4000 digits" in answers[0].json()["msg"]
    assert slowest < 2.0
