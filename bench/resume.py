"""Benchmark: how fast a client re-attaches to a live answer.

Starts the fake upstream (first token after 50 ms, then 300 tokens 10 ms
apart) and the service (SQLite, in a temp dir), each in its own process on
127.0.0.1. Opens `BENCH_STREAMS` (64) streamed `/chat/chat` turns with
`on_disconnect: continue` and keeps reading them; while all of them stream,
it resumes them one after another (`GET /chat/messages/{id}/events?after=N`,
N a few events back), timing each request to its first replayed event, over
three rounds. Prints p50/p95/max. Target: p50 <= 20 ms.
Run: `.venv/bin/python bench/resume.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import aiohttp
from processes import REPO, free_port, start_service, wait_until_up

STREAMS = int(os.environ.get("BENCH_STREAMS", "64"))
ROUNDS = 3


async def follow(session: aiohttp.ClientSession, service: str, started: asyncio.Queue) -> None:
    """One answer, read to its end; its id and newest seq go to `started` once it streams."""
    body = {"query": "hi", "stream": True, "model_name": "bench", "on_disconnect": "continue"}
    async with session.post(f"{service}/chat/chat", json=body) as response:
        state = {"id": None, "seq": -1}
        async for line in response.content:
            if not line.startswith(b"data: "):
                continue
            event = json.loads(line[6:])
            state["seq"] = event["seq"]
            if state["id"] is None:
                state["id"] = event["message_id"]
            elif event["type"] == "token" and event["seq"] == 5:
                await started.put(state)


async def resume_once(session: aiohttp.ClientSession, service: str, state: dict) -> float:
    after = max(state["seq"] - 3, -1)
    start = time.perf_counter()
    async with session.get(f"{service}/chat/messages/{state['id']}/events", params={"after": after}) as response:
        async for line in response.content:
            if line.startswith(b"data: "):
                return (time.perf_counter() - start) * 1000
    raise RuntimeError("no event replayed")


async def bench(service: str) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        times: list[float] = []
        for _ in range(ROUNDS):
            started: asyncio.Queue = asyncio.Queue()
            readers = [asyncio.create_task(follow(session, service, started)) for _ in range(STREAMS)]
            states = [await started.get() for _ in range(STREAMS)]
            times += [await resume_once(session, service, state) for state in states]
            await asyncio.gather(*readers)
        p95 = statistics.quantiles(times, n=20)[18]
        print(f"resume with {STREAMS} answers streaming, {len(times)} resumes: time to the first replayed event")
        p50 = statistics.median(times)
        print(f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(times):.1f} ms (target: p50 <= 20 ms)")


def main() -> None:
    upstream_port, service_port = free_port(), free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    upstream = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--port", str(upstream_port), "--tokens", "300"], cwd=REPO
    )
    try:
        wait_until_up(f"{upstream_url}/v1/models")
        with tempfile.TemporaryDirectory() as tmp:
            service = start_service(service_port, tmp, upstream_url)
            try:
                asyncio.run(bench(f"http://127.0.0.1:{service_port}"))
            finally:
                service.terminate()
                service.wait(timeout=30)
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)


if __name__ == "__main__":
    main()
