"""MCP servers as a source of tools.

Each configured server has one session, opened at start-up and held open by
a task of its own (the SDK's transports are context managers that must be
entered and left in one task). When the server's side closes (a stdio
server that died, a dropped connection) the session is marked gone, and the
next call opens a new one, starting a stdio server again. A server that
cannot be reached is listed with its error; the others work.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import httpx
from langchain_core.callbacks import AsyncCallbackManagerForToolRun
from langchain_core.tools import BaseTool, ToolException
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent
from mcp.types import Tool as McpToolSpec

from agent_service.config import McpServerConfig

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0  # seconds to start a server and list its tools
OPENAI_NAME = re.compile(r"[^A-Za-z0-9_-]")


def function_name(name: str) -> str:
    """`name` as a valid OpenAI function name: letters, digits, `_` and `-`, at most 64."""
    return OPENAI_NAME.sub("_", name)[:64] or "tool"


class McpServer:
    """One MCP server: its session while it is open, its tools, its last error."""

    def __init__(self, name: str, config: McpServerConfig, *, default_timeout: float) -> None:
        self.name = name
        self.config = config
        self.timeout = config.timeout or default_timeout
        self.specs: list[McpToolSpec] = []
        self.error: str | None = None
        self._session: ClientSession | None = None
        self._holder: asyncio.Task | None = None
        self._close = asyncio.Event()
        self._connecting = asyncio.Lock()

    @property
    def source(self) -> str:
        return f"mcp:{self.name}"

    @property
    def connected(self) -> bool:
        return self._session is not None

    async def connect(self) -> None:
        """Open the session and list the tools; on failure, keep the error."""
        async with self._connecting:
            if self._session is not None:
                return
            await self._stop_holder()
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._close = asyncio.Event()
            self._holder = asyncio.create_task(self._hold(ready), name=f"mcp-{self.name}")
            try:
                await asyncio.wait_for(asyncio.shield(ready), CONNECT_TIMEOUT)
            except TimeoutError:
                self.error = f"no answer within {CONNECT_TIMEOUT:g} s"
                await self._stop_holder()
            except Exception as exc:  # noqa: BLE001 - reported in GET /tools, not fatal
                self.error = _describe(exc)
            if self.error:
                logger.warning("MCP server %s: %s", self.name, self.error)

    async def _hold(self, ready: asyncio.Future[None]) -> None:
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                relay_in, relay_out = anyio.create_memory_object_stream[Any](0)
                session = await stack.enter_async_context(ClientSession(relay_out, write))
                async with anyio.create_task_group() as group:
                    group.start_soon(self._relay, read, relay_in)
                    await session.initialize()
                    self.specs = [spec for spec in await _list_tools(session) if self._allowed(spec.name)]
                    self._session, self.error = session, None
                    ready.set_result(None)
                    await self._close.wait()
                    group.cancel_scope.cancel()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else ConnectionError("cancelled"))
            elif not isinstance(exc, asyncio.CancelledError):
                self.error = _describe(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._session = None

    async def _relay(self, read: Any, relay_in: Any) -> None:
        """Hand the server's messages to the session; when the server's side ends, so does the session."""
        async with relay_in:
            async for message in read:
                await relay_in.send(message)
        self._session = None
        self.error = "the server closed the connection"
        self._close.set()

    def _transport(self) -> Any:
        config = self.config
        if config.transport == "stdio":
            assert config.command is not None
            return stdio_client(StdioServerParameters(command=config.command, args=config.args, env=config.env))
        assert config.url is not None
        return _http_streams(config.url, config.headers)

    def _allowed(self, name: str) -> bool:
        return self.config.tools is None or name in self.config.tools

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        """Call a tool of this server, reconnecting first if its session is gone."""
        if self._session is None:
            await self.connect()
        session = self._session
        if session is None:
            raise ToolException(f"MCP server {self.name} is not connected: {self.error}")
        try:
            return await asyncio.wait_for(session.call_tool(tool, arguments), self.timeout)
        except TimeoutError:
            raise ToolException(f"{tool} on MCP server {self.name} timed out after {self.timeout:g} s") from None
        except Exception as exc:
            if self._session is not session or not self._holder or self._holder.done():
                self._session = None  # the connection went with the call: the next one reconnects
            raise ToolException(f"{tool} on MCP server {self.name} failed: {_describe(exc)}") from exc

    async def close(self) -> None:
        await self._stop_holder()

    async def _stop_holder(self) -> None:
        if self._holder is not None and not self._holder.done():
            self._close.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._holder), 5)
            except (TimeoutError, Exception):  # noqa: BLE001 - a server that will not close is left behind
                self._holder.cancel()
        self._holder = None
        self._session = None


class McpTool(BaseTool):
    """A tool of an MCP server, called through the server's session."""

    server: Any  # McpServer
    remote_name: str

    def _run(self, *args: Any, **kwargs: Any) -> str:
        raise ToolException(f"{self.name} is an MCP tool: it runs asynchronously only")

    async def _arun(self, run_manager: AsyncCallbackManagerForToolRun | None = None, **arguments: Any) -> str:
        result = await self.server.call(self.remote_name, arguments)
        text = "\n".join(part.text for part in result.content if isinstance(part, TextContent))
        if not text and result.structuredContent is not None:
            text = str(result.structuredContent)
        if result.isError:
            raise ToolException(text or f"{self.remote_name} reported an error")
        return text


def tool_for(server: McpServer, spec: McpToolSpec, name: str) -> McpTool:
    return McpTool(
        name=name,
        description=spec.description or spec.title or spec.name,
        args_schema=spec.inputSchema or {"type": "object", "properties": {}},
        server=server,
        remote_name=spec.name,
    )


async def _list_tools(session: ClientSession) -> list[McpToolSpec]:
    specs, cursor = [], None
    while True:
        page = await session.list_tools(cursor=cursor)
        specs += page.tools
        if not (cursor := page.nextCursor):
            return specs


@asynccontextmanager
async def _http_streams(url: str, headers: dict[str, str]) -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's streamable HTTP transport as a (read, write) pair, like stdio's."""
    timeout = httpx.Timeout(30, read=300)  # the SDK's own: a server may stream a long answer
    async with (
        httpx.AsyncClient(headers=headers, timeout=timeout, follow_redirects=True) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
    ):
        yield read, write


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
