"""MCP servers as a source of tools, through HTTP: listed, called by the agent,
their failures and deaths turned into tool errors, reconnected."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from agent_service.api.app import create_app
from tests.api.test_agent_chat import agent_models
from tests.conftest import REPO, Rows, tools_folder
from tests.fake_openai import FakeOpenAI, Reply
from tests.mcp.servers import HttpServer
from tests.sse import parse_frames, types

STDIO = {
    "transport": "stdio",
    "command": sys.executable,
    "args": ["-m", "tests.mcp.servers"],
    "env": {"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")},
}


@pytest.fixture(scope="module")
def http_server() -> Iterator[HttpServer]:
    server = HttpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mcp_app(make_settings, upstream: FakeOpenAI, tmp_path: Path, http_server: HttpServer, live_server_for):
    def build(**servers: dict[str, Any]) -> tuple[FastAPI, str]:
        app = create_app(
            make_settings(
                models=agent_models(upstream),
                tools_dir=tools_folder(tmp_path, "X = 1\n"),
                mcp_servers=servers
                or {"local": STDIO, "web": {"transport": "streamable_http", "url": http_server.url}},
                tool_timeout=5,
            )
        )
        return app, live_server_for(app)

    return build


def agent(url: str, query: str, model: str = "react", **body: Any) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{url}/chat/agent_chat", json={"query": query, "model_name": model, "stream": True, **body}, timeout=30
    )
    assert response.status_code == 200, response.text
    return parse_frames(response.text)


def wait_until_connected(url: str, count: int) -> dict[str, Any]:
    for _ in range(300):
        listed = httpx.get(f"{url}/tools", timeout=10).json()
        if sum(tool["source"].startswith("mcp:") for tool in listed["tools"]) >= count:
            return listed
        import time

        time.sleep(0.05)
    raise AssertionError(f"the MCP servers did not connect: {listed}")


def test_mcp_tools_are_listed_beside_the_module_tools(mcp_app):
    app, url = mcp_app(
        local=STDIO,
        missing={"transport": "stdio", "command": "/nonexistent/mcp-server"},
    )
    listed = wait_until_connected(url, 7)

    by_name = {tool["name"]: tool for tool in listed["tools"]}
    assert by_name["add"]["source"] == "mcp:local"
    assert by_name["add"]["args_schema"]["properties"].keys() == {"a", "b"}
    assert by_name["weather_lookup"]["source"] == "mcp:local"  # a valid function name
    assert by_name["calculator"]["source"] == "module"  # the module's keeps its name
    assert by_name["local_calculator"]["source"] == "mcp:local"  # the server's is renamed, and said so
    errors = {error["source"]: error for error in listed["errors"] if error["source"].startswith("mcp:")}
    assert "calculator" in errors["mcp:local"]["error"] and "local_calculator" in errors["mcp:local"]["error"]
    assert errors["mcp:missing"]["error"]  # a server that cannot start is listed with its error
    called = httpx.post(f"{url}/tools/call", json={"name": "add", "tool_input": {"a": 2, "b": 40}}).json()
    assert called["output"] == "42"


@pytest.mark.parametrize("model", ["react", "native"])
def test_the_agent_calls_an_mcp_tool(mcp_app, upstream: FakeOpenAI, model: str):
    app, url = mcp_app()
    wait_until_connected(url, 14)
    if model == "react":
        upstream.enqueue('Action: weather_lookup\nAction Input: {"city": "Oslo"}', "Final Answer: Sunny in Oslo.")
    else:
        upstream.enqueue(
            Reply(
                text="",
                tool_calls=[
                    {"name": "web_weather_lookup" if False else "weather_lookup", "arguments": {"city": "Oslo"}}
                ],
            ),
            "Sunny in Oslo.",
        )

    events = agent(url, "Weather in Oslo?", model)

    assert types(events) == [
        "metadata",
        *(["token"] if model == "react" else []),
        "tool_start",
        "tool_end",
        "token",
        "final_answer",
        "done",
    ]
    end = next(e for e in events if e["type"] == "tool_end")
    assert (end["tool"], end["output"]) == ("weather_lookup", "sunny in Oslo")
    rows = Rows(app)
    (call,) = rows.tool_calls(rows.saved_answer().id)
    assert (call.tool, call.input, call.output) == ("weather_lookup", {"city": "Oslo"}, "sunny in Oslo")


def test_an_error_result_and_a_timeout_are_tool_errors(mcp_app, upstream: FakeOpenAI):
    app, url = mcp_app(local={**STDIO, "timeout": 0.5})
    wait_until_connected(url, 7)
    upstream.enqueue(
        'Action: refuse\nAction Input: {"reason": "no"}',
        'Action: slow\nAction Input: {"seconds": 3}',
        "Final Answer: Neither worked.",
    )

    events = agent(url, "try both")

    errors = [e for e in events if e["type"] == "tool_error"]
    assert [e["tool"] for e in errors] == ["refuse", "slow"]
    assert "refused: no" in errors[0]["error"]
    assert errors[1]["error"] == "slow on MCP server local timed out after 0.5 s"
    assert events[-1]["type"] == "done" and events[-1]["status"] == "complete"
    observations = json.dumps(upstream.requests[-1])
    assert "refused: no" in observations


def test_a_stdio_server_killed_between_calls_is_started_again(mcp_app, upstream: FakeOpenAI):
    app, url = mcp_app(local=STDIO)
    wait_until_connected(url, 7)
    first = httpx.post(f"{url}/tools/call", json={"name": "process_id"}, timeout=10).json()["output"]

    os.kill(int(first), signal.SIGKILL)
    second = httpx.post(f"{url}/tools/call", json={"name": "process_id"}, timeout=10)

    assert second.status_code == 200, second.text
    assert second.json()["output"] != first


def test_a_server_that_dies_mid_call_is_a_tool_error_and_the_answer_ends(mcp_app, upstream: FakeOpenAI):
    app, url = mcp_app(local=STDIO)
    wait_until_connected(url, 7)
    upstream.enqueue("Action: die\nAction Input: {}", "Final Answer: The server went away.")

    events = agent(url, "die")

    error = next(e for e in events if e["type"] == "tool_error")
    assert error["tool"] == "die" and "MCP server local" in error["error"]
    assert events[-1]["type"] == "done" and events[-1]["status"] == "complete"
    again = httpx.post(f"{url}/tools/call", json={"name": "add", "tool_input": {"a": 1, "b": 1}}, timeout=10)
    assert again.json()["output"] == "2"  # and the next call starts it again


def test_reload_connects_a_server_that_was_down(mcp_app, upstream: FakeOpenAI):
    later = HttpServer()
    app, url = mcp_app(web={"transport": "streamable_http", "url": "http://127.0.0.1:9/mcp"})
    listed = httpx.get(f"{url}/tools").json()
    assert any(error["source"] == "mcp:web" for error in listed["errors"]) or not any(
        t["source"] == "mcp:web" for t in listed["tools"]
    )
    later.start()
    try:
        app.state.services.tools.mcp.servers["web"].config.url = later.url
        reloaded = httpx.post(f"{url}/tools/reload", timeout=30).json()
    finally:
        later.stop()

    assert "add" in [tool["name"] for tool in reloaded["tools"] if tool["source"] == "mcp:web"]
    assert not [error for error in reloaded["errors"] if error["source"] == "mcp:web" and "taken" not in error["error"]]


def test_a_server_can_require_approval(mcp_app, upstream: FakeOpenAI):
    app, url = mcp_app(local={**STDIO, "requires_approval": True, "tools": ["add"]})
    listed = wait_until_connected(url, 1)

    tools = {tool["name"]: tool for tool in listed["tools"]}
    assert tools["add"]["requires_approval"] is True
    assert "weather_lookup" not in tools  # the allow-list
