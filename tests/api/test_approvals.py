"""Tool calls that wait for a person: approve, deny, time out; who may answer; the rows they leave."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_service.api.app import create_app
from agent_service.db.secrets import key_fingerprint
from tests.api.test_agent_chat import agent_models
from tests.api.test_messages import Events
from tests.asgi import asgi_client
from tests.conftest import Rows, tools_folder, wait_for
from tests.fake_openai import FakeOpenAI
from tests.sse import parse_frames, types

GUARDED_TOOLS = """
from langchain_core.tools import tool

requires_approval = True


@tool
def delete_file(path: str) -> str:
    \"\"\"Deletes a file (for tests: only says so).\"\"\"
    return f"deleted {path}"
"""

CALL = 'Action: delete_file\nAction Input: {"path": "/tmp/report.txt"}'
KEY_A, KEY_B = {"Authorization": "Bearer sk-a"}, {"Authorization": "Bearer sk-b"}


@pytest.fixture
def approval_app(make_settings, upstream: FakeOpenAI, tmp_path: Path):
    def build(**settings: Any):
        folder = tools_folder(tmp_path, GUARDED_TOOLS)
        return create_app(make_settings(models=agent_models(upstream), tools_dir=folder, **settings))

    return build


async def start_agent(http: httpx.AsyncClient, response_holder: list, **body: Any) -> Events:
    request = {"query": "delete the report", "model_name": "react", "stream": True, **body}
    response = await http.send(http.build_request("POST", "/chat/agent_chat", json=request), stream=True)
    response_holder.append(response)
    return Events(response)


async def until_a_call_waits(http: httpx.AsyncClient, held: list) -> tuple[Events, str]:
    """Start the agent, read until its tool call waits for approval; the events, and the call's route."""
    events = await start_agent(http, held)
    head = await events.until(lambda e: e["type"] == "tool_approval")
    return events, f"/chat/messages/{head[0]['message_id']}/tool_calls/{head[-1]['run_id']}"


async def test_an_approved_call_runs_and_the_row_says_who_approved(approval_app, upstream, live_server_for):
    app = approval_app(api_keys=["sk-a", "sk-b"])
    url = live_server_for(app)
    upstream.enqueue(CALL, "Final Answer: The report is gone.")
    rows = Rows(app)
    held: list = []
    async with httpx.AsyncClient(base_url=url, timeout=10, headers=KEY_A) as http:
        events = await start_agent(http, held)
        head = await events.until(lambda e: e["type"] == "tool_approval")
        message_id, run_id = head[0]["message_id"], head[-1]["run_id"]
        # Saved as waiting at once, not at the next checkpoint.
        answer = wait_for(lambda: next((m for m in rows.messages() if m.id == message_id), None), timeout=0.5)
        assert wait_for(lambda: rows.messages()[-1].status == "requires_action", timeout=0.5)

        theirs = await http.post(f"/chat/messages/{message_id}/tool_calls/{run_id}/approve", headers=KEY_B)
        unknown = await http.post(f"/chat/messages/{message_id}/tool_calls/nope/approve")
        approved = await http.post(f"/chat/messages/{message_id}/tool_calls/{run_id}/approve")
        again = await http.post(f"/chat/messages/{message_id}/tool_calls/{run_id}/deny")
        rest = await events.until()
        await held[0].aclose()

    assert [e["type"] for e in head][-2:] == ["tool_start", "tool_approval"]
    assert head[-1]["tool"] == "delete_file" and head[-1]["input"] == {"path": "/tmp/report.txt"}
    assert answer.role == "assistant"
    assert theirs.status_code == 404 and unknown.status_code == 404
    assert approved.status_code == 200 and approved.json()["approval"] == "approved"
    assert again.status_code == 409 and "already approved" in again.json()["msg"]
    assert types(rest) == ["tool_end", "token", "final_answer", "done"]
    assert rest[0]["output"] == "deleted /tmp/report.txt"
    saved = rows.saved_answer()
    assert saved.status == "complete"
    (call,) = rows.tool_calls(saved.id)
    assert (call.approval, call.approval_by, call.output) == (
        "approved",
        key_fingerprint("sk-a", app.state.services.key_secret),
        "deleted /tmp/report.txt",
    )
    assert call.approval_at is not None
    after_the_end = httpx.post(f"{url}/chat/messages/{message_id}/tool_calls/{run_id}/approve", headers=KEY_A)
    assert after_the_end.status_code == 409


async def test_a_denied_call_is_a_tool_error_the_model_reads(approval_app, upstream, live_server_for):
    app = approval_app()
    url = live_server_for(app)
    upstream.enqueue(CALL, "Final Answer: I did not delete it.")
    held: list = []
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        events, call = await until_a_call_waits(http, held)
        denied = await http.post(f"{call}/deny", json={"reason": "keep the report"})
        rest = await events.until()
        await held[0].aclose()

    assert denied.json()["approval"] == "denied"
    assert types(rest) == ["tool_error", "token", "final_answer", "done"]
    assert "denied by the user: keep the report" in rest[0]["error"]
    assert "denied by the user: keep the report" in json.dumps(upstream.requests[-1]["messages"])
    rows = Rows(app)
    (call,) = rows.tool_calls(rows.saved_answer().id)
    assert (call.approval, call.approval_reason, call.output) == ("denied", "keep the report", None)


async def test_no_answer_in_time_counts_as_a_denial(approval_app, upstream):
    app = approval_app(tool_approval_timeout=0.3)
    upstream.enqueue(CALL, "Final Answer: Nobody said yes.")
    async with asgi_client(app) as http:
        body = {"query": "delete the report", "model_name": "react", "stream": True}
        events = parse_frames((await http.post("/chat/agent_chat", json=body)).text)
    app.state.services.close()

    assert types(events) == [
        "metadata",
        "token",
        "tool_start",
        "tool_approval",
        "tool_error",
        "token",
        "final_answer",
        "done",
    ]
    assert "no answer within 0.3 s" in next(e for e in events if e["type"] == "tool_error")["error"]
    rows = Rows(app)
    (call,) = rows.tool_calls(rows.saved_answer().id)
    assert call.approval == "timed_out" and call.approval_by is None


async def test_the_setting_names_tools_that_need_approval(make_settings, upstream, tmp_path: Path):
    app = create_app(
        make_settings(
            models=agent_models(upstream),
            tools_requiring_approval="calculator",
            tool_approval_timeout=0.2,
        )
    )
    upstream.enqueue('Action: calculator\nAction Input: {"expression": "2+2"}', "Final Answer: unknown")
    async with asgi_client(app) as http:
        listed = {t["name"]: t for t in (await http.get("/tools")).json()["tools"]}
        events = parse_frames(
            (await http.post("/chat/agent_chat", json={"query": "2+2", "model_name": "react", "stream": True})).text
        )
    app.state.services.close()

    assert listed["calculator"]["requires_approval"] is True
    assert listed["current_time"]["requires_approval"] is False
    assert "tool_approval" in types(events)


async def test_openai_chunks_say_a_call_is_pending(approval_app, upstream, live_server_for):
    app = approval_app()
    url = live_server_for(app)
    upstream.enqueue(CALL, "Final Answer: done")
    body = {
        "model": "react",
        "stream": True,
        "chat_mode": "chat_agent",
        "messages": [{"role": "user", "content": "delete the report"}],
    }
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            chunks: list[dict] = []
            async for line in response.aiter_lines():
                if not line.startswith("data: {"):
                    continue
                chunks.append(json.loads(line[6:]))
                if "tool_approval" in chunks[-1]:
                    pending = chunks[-1]["tool_approval"]
                    message_id = chunks[-1]["message_id"]
                    await http.post(f"/chat/messages/{message_id}/tool_calls/{pending['id']}/approve")

    calls = [c for c in chunks if "server_tool_call" in c]
    assert calls and pending == {"id": calls[0]["server_tool_call"]["id"], "status": "pending"}
    assert chunks.index(calls[0]) < next(i for i, c in enumerate(chunks) if "tool_approval" in c)
    assert any(c.get("tool_result", {}).get("output") == "deleted /tmp/report.txt" for c in chunks)


async def test_stop_while_a_call_waits_for_approval(approval_app, upstream, live_server_for):
    app = approval_app()
    url = live_server_for(app)
    upstream.enqueue(CALL)
    held: list = []
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        events = await start_agent(http, held)
        head = await events.until(lambda e: e["type"] == "tool_approval")
        stop = await http.post(f"/chat/messages/{head[0]['message_id']}/stop")
        rest = await events.until()
        await held[0].aclose()

    assert stop.json()["stopped"] is True
    assert rest[-1]["status"] == "interrupted" and rest[-1]["reason"] == "stopped"
    rows = Rows(app)
    (call,) = rows.tool_calls(rows.saved_answer().id)
    assert call.error == "stopped" and call.approval is None


async def test_time_waiting_for_a_person_does_not_count_toward_the_agent_time_limit(
    approval_app, upstream, live_server_for
):
    app = approval_app(agent_max_execution_time=1.0)
    url = live_server_for(app)
    upstream.enqueue(CALL, "Final Answer: The report is gone.")
    held: list = []
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        events, call = await until_a_call_waits(http, held)
        await asyncio.sleep(1.5)  # longer than the agent may work
        approved = await http.post(f"{call}/approve")
        rest = await events.until()
        await held[0].aclose()

    assert approved.status_code == 200
    assert types(rest) == ["tool_end", "token", "final_answer", "done"]
    assert rest[-2]["text"] == "The report is gone." and rest[-1]["status"] == "complete"
