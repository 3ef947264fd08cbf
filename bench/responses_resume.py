"""Benchmark: resuming a background response on the other replica.

Starts, on 127.0.0.1: the fake upstream (first token after 50 ms, then 300 tokens 10 ms
apart), a PostgreSQL server, a Redis server and two replicas on them. Opens
`BENCH_STREAMS` (64) streamed background responses (`POST /v1/responses`, `background`
and `stream`) on the first replica and keeps reading them; while all of them stream, it
resumes 20 of them on the second, one after another (`GET /v1/responses/{id}?stream=true
&starting_after=N`, N a few events back), timing each request to its first event, over
three rounds. Prints p50/p95/max. Target: p50 <= 30 ms.
Run: `.venv/bin/python bench/responses_resume.py` (needs Debian's postgresql and redis-server).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from contextlib import ExitStack

import aiohttp
from processes import free_port, service_in, shared_stores, start_upstream

STREAMS = int(os.environ.get("BENCH_STREAMS", "64"))
RESUMES = 20
ROUNDS = 3


async def follow(session: aiohttp.ClientSession, service: str, started: asyncio.Queue) -> None:
    """One background response, read to its end; its id and newest sequence number go to
    `started` once its text streams."""
    body = {"model": "bench", "input": "hi", "stream": True, "background": True}
    async with session.post(f"{service}/v1/responses", json=body) as response:
        state = {"id": None, "sequence_number": -1}
        async for line in response.content:
            if not line.startswith(b"data: "):
                continue
            event = json.loads(line[6:])
            state["sequence_number"] = event["sequence_number"]
            if state["id"] is None:
                state["id"] = event["response"]["id"]
            elif event["type"] == "response.output_text.delta" and event["sequence_number"] == 8:
                await started.put(state)


async def resume_once(session: aiohttp.ClientSession, service: str, state: dict) -> float:
    params = {"stream": "true", "starting_after": str(max(state["sequence_number"] - 3, -1))}
    start = time.perf_counter()
    async with session.get(f"{service}/v1/responses/{state['id']}", params=params) as response:
        async for line in response.content:
            if line.startswith(b"data: "):
                return (time.perf_counter() - start) * 1000
    raise RuntimeError(f"nothing replayed: {response.status}")


async def bench(first: str, second: str) -> list[float]:
    connector = aiohttp.TCPConnector(limit=0)
    times: list[float] = []
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        for _ in range(ROUNDS):
            started: asyncio.Queue = asyncio.Queue()
            readers = [asyncio.create_task(follow(session, first, started)) for _ in range(STREAMS)]
            states = [await started.get() for _ in range(STREAMS)]
            times += [await resume_once(session, second, state) for state in states[:RESUMES]]
            await asyncio.gather(*readers)
    return times


def main() -> None:
    with ExitStack() as stack:
        upstream_url = start_upstream(stack, "--tokens", "300")
        settings = {
            **shared_stores(stack),
            "AGENT_SERVICE_MAX_LIVE_ANSWERS_PER_CALLER": str(STREAMS),  # one client holds them all
        }
        data = stack.enter_context(tempfile.TemporaryDirectory())
        ports = [free_port(), free_port()]
        for port in ports:
            service_in(stack, port, data, upstream_url, **settings)
        first, second = (f"http://127.0.0.1:{port}" for port in ports)
        times = asyncio.run(bench(first, second))
        p95 = statistics.quantiles(times, n=20)[18]
        print(
            f"resume a background response on the other replica, {STREAMS} streaming, {len(times)} resumes: "
            f"p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {max(times):.1f} ms (target: p50 <= 30 ms)"
        )


if __name__ == "__main__":
    main()
