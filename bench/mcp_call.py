"""Benchmark: what calling a tool through MCP adds over the same function as a module tool.

The same `add(a, b)` three ways, each called `BENCH_CALLS` (500) times one
after another, in this process: as a LangChain tool (what a module in
`tools/` is), through an MCP server on stdio (`python -m tests.mcp.servers`,
a child process), and through the same server over streamable HTTP on
127.0.0.1. Each MCP call goes through the service's own client
(`agent_service.mcp`, one session held open per server). Prints p50/p95 per
call and the added cost. Target: at most 5 ms p50 added on stdio.
Run: `.venv/bin/python bench/mcp_call.py`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from langchain_core.tools import tool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_service.config import McpServerConfig  # noqa: E402
from agent_service.mcp.tools import McpTools  # noqa: E402
from tests.mcp.servers import HttpServer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CALLS = int(os.environ.get("BENCH_CALLS", "500"))


@tool
def add(a: int, b: int) -> str:
    """Adds two whole numbers."""
    return str(a + b)


async def timed(call) -> list[float]:  # noqa: ANN001 - an async callable
    for _ in range(20):  # warm-up
        await call()
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[18]


def row(name: str, times: list[float], base: list[float] | None = None) -> None:
    p50 = statistics.median(times)
    added = ""
    if base:
        added = f"   added p50 {p50 - statistics.median(base):+.2f} ms, p95 {p95(times) - p95(base):+.2f} ms"
    print(f"{name:<22} p50 {p50:6.2f} ms   p95 {p95(times):6.2f} ms{added}")


async def main() -> None:
    http = HttpServer().start()
    stdio = McpServerConfig(
        transport="stdio",
        command=sys.executable,
        args=["-m", "tests.mcp.servers"],
        env={"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")},
    )
    servers = {"stdio": stdio, "http": McpServerConfig(transport="streamable_http", url=http.url)}
    mcp = McpTools(servers, default_timeout=30)
    try:
        await mcp.connect(taken=[])
        by_server = {server: t for t, s in mcp.tools.values() if t.name.endswith("add") for server in [s.name]}
        arguments = {"a": 2, "b": 40}
        module = await timed(lambda: add.ainvoke(arguments))
        print(f"{CALLS} calls each, one after another")
        row("module tool", module)
        row("MCP over stdio", await timed(lambda: by_server["stdio"].ainvoke(arguments)), module)
        row("MCP over HTTP", await timed(lambda: by_server["http"].ainvoke(arguments)), module)
        print("target: at most 5 ms p50 added on stdio")
    finally:
        await mcp.close()
        http.stop()


if __name__ == "__main__":
    asyncio.run(main())
