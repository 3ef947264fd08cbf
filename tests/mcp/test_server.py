"""The service's own tools over MCP at /mcp, listed and called with the SDK's client."""

from __future__ import annotations

import json

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from agent_service.api.app import create_app
from tests.conftest import tools_folder

GUARDED = """
from langchain_core.tools import tool

requires_approval = True


@tool
def wipe_disk() -> str:
    \"\"\"Wipes the disk (for tests: only says so).\"\"\"
    return "wiped"
"""


async def open_session(url: str, key: str | None = None):  # noqa: ANN201 - the SDK's client pieces
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx.AsyncClient(headers=headers, timeout=10)
    return http, streamable_http_client(f"{url}/mcp", http_client=http)


async def list_and_call(url: str, key: str | None = None) -> tuple[list, str]:
    http, transport = await open_session(url, key)
    async with http, transport as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        tools = (await session.list_tools()).tools
        result = await session.call_tool("calculator", {"expression": "6*7"})
        return tools, result.content[0].text


async def test_the_tools_are_served_over_mcp(make_settings, tmp_path, live_server_for):
    folder = tools_folder(tmp_path, "X = 1\n")
    (folder / "guarded.py").write_text(GUARDED)
    app = create_app(make_settings(tools_dir=folder))
    url = live_server_for(app)

    tools, answer = await list_and_call(url)

    names = {tool.name for tool in tools}
    assert {"calculator", "search_knowledge_base"} <= names
    assert "wipe_disk" not in names  # it needs a person's approval: nobody approves over MCP
    calculator = next(tool for tool in tools if tool.name == "calculator")
    assert "expression" in calculator.inputSchema["properties"]
    assert answer == "42"


async def test_mcp_needs_a_key_when_keys_are_set(make_settings, tmp_path, live_server_for):
    app = create_app(make_settings(api_keys=["sk-a"]))
    url = live_server_for(app)

    refused = httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    wrong = httpx.post(f"{url}/mcp", headers={"Authorization": "Bearer sk-b"}, json={})
    tools, answer = await list_and_call(url, key="sk-a")

    assert refused.status_code == wrong.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert json.loads(refused.text)["error"]["code"] == "invalid_api_key"
    assert answer == "42" and tools


@pytest.mark.parametrize("path", ["/openapi.json"])
async def test_mcp_is_not_in_the_openapi_schema(client, path):
    schema = (await client.get(path)).json()
    assert "/mcp" not in schema["paths"]
