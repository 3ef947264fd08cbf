"""Every configured MCP server's tools, named for the agent.

Names are valid OpenAI function names and never collide: a tool whose name
is taken (by a module tool or another server's) is renamed
`<server>_<tool>`, and the renaming is reported beside the servers' errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.tools import BaseTool

from agent_service.config import McpServerConfig
from agent_service.mcp.client import CONNECT_TIMEOUT, McpServer, function_name, tool_for


class McpTools:
    def __init__(self, servers: Mapping[str, McpServerConfig], *, default_timeout: float) -> None:
        self.servers = {
            name: McpServer(name, config, default_timeout=default_timeout) for name, config in servers.items()
        }
        self.tools: dict[str, tuple[BaseTool, McpServer]] = {}
        self.renamed: list[dict[str, str]] = []
        self._started: asyncio.Future[None] | None = None

    async def connect(self, taken: Iterable[str]) -> None:
        """Open every server's session (a server that fails is reported, not fatal), then name the tools."""
        self._started = self._started or asyncio.get_running_loop().create_future()
        await asyncio.gather(*(server.connect() for server in self.servers.values()))
        self._name_tools(set(taken))
        if not self._started.done():
            self._started.set_result(None)

    async def reconnect(self, taken: Iterable[str]) -> None:
        await self.close()
        await self.connect(taken)

    async def started(self) -> None:
        """Wait (a bounded time) for the first connection, when one has begun."""
        if self._started is not None and not self._started.done():
            await asyncio.wait_for(asyncio.shield(self._started), CONNECT_TIMEOUT + 5)

    def _name_tools(self, taken: set[str]) -> None:
        self.tools, self.renamed = {}, []
        for server in self.servers.values():
            for spec in server.specs:
                name = function_name(spec.name)
                if name in taken or name in self.tools:
                    other = function_name(f"{server.name}_{spec.name}")
                    self.renamed.append(
                        {"source": server.source, "tool": spec.name, "name": other, "error": f"{name!r} is taken"}
                    )
                    name = other
                    if name in taken or name in self.tools:
                        continue  # reported above; a second clash has no name left to take
                self.tools[name] = (tool_for(server, spec, name), server)

    def source(self, name: str) -> str:
        return self.tools[name][1].source

    def needs_approval(self, name: str) -> bool:
        return name in self.tools and self.tools[name][1].config.requires_approval

    def errors(self) -> list[dict[str, Any]]:
        """Servers that could not be reached, and tools that were renamed."""
        failed = [
            {"module": server.source, "source": server.source, "error": server.error}
            for server in self.servers.values()
            if server.error and not server.connected
        ]
        renamed = [
            {
                "module": item["source"],
                **item,
                "error": f"tool {item['tool']!r} is listed as {item['name']!r}: {item['error']}",
            }
            for item in self.renamed
        ]
        return failed + renamed

    async def close(self) -> None:
        await asyncio.gather(*(server.close() for server in self.servers.values()))
