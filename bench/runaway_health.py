"""Benchmark: how long /health takes while one caller sends what once froze the service.

Starts the service (`agent-service serve`, SQLite, in a temp dir) in its own
process against a fake OpenAI-compatible upstream, and for each runaway input
polls /health every 20 ms from this process while the input is handled:

- an agent model reply of "Action" + 20,000 spaces + "x" (cubic parsing before);
- `round(1, -10**7)` through `POST /tools/call` (15 s of one CPU before);
- a calculator call that runs until its timeout (the tool worker is killed);
- a 110 KB .docx of 8 million empty paragraphs (1.4 GB and minutes before).

Prints, for each, how long the input took to be answered and the median and
slowest /health answer meanwhile. Run: `.venv/bin/python bench/runaway_health.py`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from processes import REPO, free_port, start_service

sys.path.insert(0, str(REPO))

from tests.agents.test_isolated_tools import RUNAWAYS  # noqa: E402 - the spin tool the tests use
from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.knowledge.test_loaders import docx_bomb  # noqa: E402


async def health_while(url: str, work) -> tuple[float, list[float]]:
    """Run `work` and poll /health every 20 ms meanwhile: the work's seconds and each /health time."""
    times: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        started = time.perf_counter()
        task = asyncio.create_task(work(http))
        while not task.done():
            polled = time.perf_counter()
            (await http.get("/health")).raise_for_status()
            times.append(time.perf_counter() - polled)
            await asyncio.sleep(0.02)
        response = await task
        took = time.perf_counter() - started
    print(f"    answered {response.status_code}: {response.text[:90]!r}")
    return took, times


async def bench(url: str, upstream: FakeOpenAI) -> None:
    upstream.enqueue("Action" + " " * 20_000 + "x")
    bomb = docx_bomb(8_000_000)
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        await http.post("/knowledge_bases", json={"name": "docs"})
        await http.post("/tools/call", json={"name": "spin", "tool_input": {"seconds": 0.1}})  # the worker is up

    cases = {
        "agent reply 'Action' + 20,000 spaces": lambda http: http.post(
            "/chat/agent_chat", json={"query": "hi", "model_name": "bench"}
        ),
        "calculator round(1, -10**7)": lambda http: http.post(
            "/tools/call", json={"name": "calculator", "tool_input": {"expression": "round(1, -10**7)"}}
        ),
        "a tool call spinning past its 5 s timeout": lambda http: http.post(
            "/tools/call", json={"name": "spin", "tool_input": {"seconds": 600}}
        ),
        ".docx of 8 million empty paragraphs": lambda http: http.post(
            "/knowledge_bases/docs/files", files=[("files", ("bomb.docx", bomb))]
        ),
    }
    print(f"{'input':45} {'answered in':>12} {'/health median':>15} {'/health slowest':>16}")
    for name, work in cases.items():
        took, times = await health_while(url, work)
        print(f"{name:45} {took:>10.2f} s {statistics.median(times) * 1000:>12.1f} ms {max(times) * 1000:>13.1f} ms")


def main() -> None:
    upstream = FakeOpenAI().start()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        tools = Path(tmp, "tools")
        tools.mkdir()
        for builtin in ("calculator.py",):
            (tools / builtin).write_text((REPO / "tools" / builtin).read_text())
        (tools / "runaways.py").write_text(RUNAWAYS)
        models = {"bench": {"provider": "openai", "base_url": upstream.base_url, "agent_style": "react"}}
        service = start_service(
            port,
            tmp,
            upstream.url,
            AGENT_SERVICE_MODELS=json.dumps(models),
            AGENT_SERVICE_TOOLS_DIR=str(tools),
            AGENT_SERVICE_TOOL_TIMEOUT="5",
            AGENT_SERVICE_EMBEDDINGS=json.dumps({"provider": "fake"}),
        )
        try:
            asyncio.run(bench(f"http://127.0.0.1:{port}", upstream))
        finally:
            service.terminate()
            service.wait(timeout=30)
            upstream.stop()


if __name__ == "__main__":
    main()
