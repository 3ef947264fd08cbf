"""The service's own tools over MCP at /mcp, listed and called with the SDK's client."""

from __future__ import annotations

import json

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from agent_service.api.app import create_app
from agent_service.mcp.server import McpEndpoint
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


async def test_the_mcp_endpoint_checks_host_and_origin_itself(make_settings):
    """The SDK's DNS-rebinding check holds wherever the endpoint is mounted, not only behind the service's guard."""
    app = create_app(make_settings())
    endpoint = McpEndpoint(app.state.services)
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    accept = {"Accept": "application/json, text/event-stream"}
    async with endpoint.running(), httpx.AsyncClient(transport=httpx.ASGITransport(app=endpoint)) as http:
        rebound = await http.post("http://attacker.example/mcp", json=initialize, headers=accept)
        foreign = await http.post(
            "http://127.0.0.1:7861/mcp", json=initialize, headers=accept | {"Origin": "https://evil.example"}
        )
        local = await http.post("http://127.0.0.1:7861/mcp", json=initialize, headers=accept)
    app.state.services.close()

    assert rebound.status_code == 421
    assert foreign.status_code == 403
    assert local.status_code == 200 and "agent-service" in local.text
