"""Real MCP servers for the tests, written with the SDK's FastMCP: run as a
stdio server (`python -m tests.mcp.servers`) or served over streamable HTTP
on 127.0.0.1 in a thread (`HttpServer`)."""

from __future__ import annotations

import asyncio
import os

from mcp.server.fastmcp import FastMCP

from tests.threaded_server import ThreadedServer


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
        self.server = ThreadedServer(build().streamable_http_app(), lifespan="on", log_level="warning")
        self.url = ""

    def start(self) -> HttpServer:
        self.url = self.server.start() + "/mcp"
        return self

    def stop(self) -> None:
        self.server.stop()


if __name__ == "__main__":
    build().run("stdio")
