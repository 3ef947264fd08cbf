"""Real MCP servers for the tests, written with the SDK's FastMCP: run as a
stdio server (`python -m tests.mcp.servers`) or served over streamable HTTP
on 127.0.0.1 in a thread (`HttpServer`)."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import uvicorn
from mcp.server.fastmcp import FastMCP


def build() -> FastMCP:
    server = FastMCP("test-tools")

    @server.tool()
    def add(a: int, b: int) -> str:
        """Adds two whole numbers."""
        return str(a + b)

    @server.tool(name="weather.lookup")
    def weather(city: str) -> str:
        """Says what the weather is in a city (always sunny)."""
        return f"sunny in {city}"

    @server.tool()
    def calculator(expression: str) -> str:
        """A calculator of this server's own, whose name a module tool already has."""
        return f"remote {expression}"

    @server.tool()
    def refuse(reason: str) -> str:
        """Always fails."""
        raise ValueError(f"refused: {reason}")

    @server.tool()
    async def slow(seconds: float) -> str:
        """Waits, then says so."""
        await asyncio.sleep(seconds)
        return f"waited {seconds} s"

    @server.tool()
    def process_id() -> str:
        """The server's process id."""
        return str(os.getpid())

    @server.tool()
    def die() -> str:
        """Ends the server's process in the middle of the call."""
        os._exit(1)

    return server


class HttpServer:
    """The same tools over streamable HTTP, at `url` (…/mcp)."""

    def __init__(self) -> None:
        app = build().streamable_http_app()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def start(self) -> HttpServer:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}/mcp"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


if __name__ == "__main__":
    build().run("stdio")
