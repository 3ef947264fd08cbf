"""The service's own tools over MCP (streamable HTTP) at `/mcp`: the module
tools and `search_knowledge_base`, for Claude Desktop or another agent.

With API keys set, a request needs `Authorization: Bearer <key>`. Tools that
wait for a person's approval are not offered: over MCP nobody is there to
approve them. Tools of the MCP servers the service itself uses are not
passed on either.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langchain_core.tools import BaseTool
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from agent_service import __version__
from agent_service.api.browser_guard import served_hosts
from agent_service.config import Settings
from agent_service.services import Services

PATH = "/mcp"


def _schema(tool: BaseTool) -> dict[str, Any]:
    schema = tool.tool_call_schema
    return schema.model_json_schema() if isinstance(schema, type) else dict(schema)


def _offered(services: Services) -> dict[str, BaseTool]:
    registry = services.tools
    return {name: registry.get(name) for name in registry.module_names() if not registry.needs_approval(name)}


def build_server(services: Services) -> Server:
    server: Server = Server("agent-service", version=__version__)

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        tools = await asyncio.to_thread(_offered, services)  # a built-in's description may read the database
        return [
            types.Tool(name=name, description=inspect.cleandoc(tool.description), inputSchema=_schema(tool))
            for name, tool in tools.items()
        ]

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> list[types.TextContent]:
        tools = await asyncio.to_thread(_offered, services)
        if name not in tools:
            raise ValueError(f"unknown tool {name!r}")
        output = await asyncio.wait_for(tools[name].ainvoke(arguments), services.settings.tool_timeout)
        text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, default=str)
        return [types.TextContent(type="text", text=text)]

    return server


class McpEndpoint:
    """The ASGI endpoint at `/mcp`: checks the key, then hands the request to the SDK's session manager."""

    def __init__(self, services: Services) -> None:
        self.keys = [key.encode() for key in services.settings.api_keys]
        self.manager = StreamableHTTPSessionManager(
            app=build_server(services), stateless=True, security_settings=transport_security(services.settings)
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.keys and not self._authorized(scope):
            await _unauthorized(send)
            return
        await self.manager.handle_request(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        header = dict(scope.get("headers", [])).get(b"authorization", b"")
        offered = header[7:] if header[:7].lower() == b"bearer " else b""
        return any([secrets.compare_digest(offered, key) for key in self.keys])  # every key compared


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """The SDK's own DNS-rebinding check, with the names the whole service answers to
    (`api.browser_guard` checks them first; this holds wherever the endpoint is mounted)."""
    hosts = served_hosts(listen_host=settings.host, allowed_hosts=settings.allowed_hosts)
    if hosts is None:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    names = sorted(f"[{host}]" if ":" in host else host for host in hosts)
    return TransportSecuritySettings(
        allowed_hosts=[*names, *(f"{name}:*" for name in names)],
        allowed_origins=[
            f"{scheme}://{name}{port}" for scheme in ("http", "https") for name in names for port in ("", ":*")
        ],
    )


async def _unauthorized(send: Send) -> None:
    message = "missing or invalid API key: send the header Authorization: Bearer <key>"
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}})
    headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})
