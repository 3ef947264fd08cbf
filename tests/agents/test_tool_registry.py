"""Selecting tools from the event loop with a slow database: the loop keeps serving."""

from __future__ import annotations

import asyncio
import threading
import time

from fastapi import FastAPI

from agent_service.agents.knowledge_tool import NAME


async def test_selecting_the_knowledge_tool_lets_the_loop_serve_while_the_database_is_slow(app: FastAPI, monkeypatch):
    knowledge = app.state.services.knowledge
    list_bases = knowledge.list
    listed_in: list[threading.Thread] = []

    def slow_list():
        listed_in.append(threading.current_thread())
        time.sleep(0.2)  # a database far away, or busy
        return list_bases()

    monkeypatch.setattr(knowledge, "list", slow_list)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.ensure_future(tick())
    [tool] = await app.state.services.tools.aselect([NAME])
    ticker.cancel()

    assert listed_in and listed_in[0] is not threading.current_thread()  # not on the loop's thread
    assert ticks > 1  # the loop ran other work meanwhile
    assert tool.name == NAME and "Knowledge bases: none yet." in tool.description


async def test_an_agent_turn_keeps_the_loop_serving_while_the_database_is_slow(app: FastAPI, client, monkeypatch):
    knowledge = app.state.services.knowledge
    list_bases = knowledge.list

    def slow_list():
        time.sleep(1.0)  # a database far away, or busy
        return list_bases()

    monkeypatch.setattr(knowledge, "list", slow_list)
    started = time.perf_counter()
    turn = asyncio.ensure_future(client.post("/chat/agent_chat", json={"query": "hi", "model_name": "scripted"}))
    health = await client.get("/health")  # served while the turn selects its tools, not after
    waited = time.perf_counter() - started
    answered = await turn

    assert health.status_code == 200 and answered.status_code == 200
    assert waited < 0.5, f"/health waited {waited:.2f} s behind the agent's tool selection"
