"""Benchmark: what replicas cost, in one run.

Starts, on 127.0.0.1: the fake upstream (first token after 50 ms, then 64
tokens 10 ms apart), a PostgreSQL server and a Redis server (as the tests
start them, in temp dirs). Then `/chat/chat` streams through, in turn:
- one replica on SQLite (the embedded default);
- one replica on PostgreSQL + Redis;
- two replicas on PostgreSQL + Redis, the streams taking turns between them.
For each, at `BENCH_LEVELS` (16, 64; the two replicas also at 128), it
prints added time-to-first-token and the service CPU per request (summed
over the replicas). Last, with 64 answers streaming on the first replica,
the time to re-attach from the second to 20 of them, one after another
(`GET .../events`, to the first replayed event). Bars: PostgreSQL + Redis at most 1.3x the CPU per request
of SQLite; no failed stream at 128 on two replicas; resuming on the other
replica p50 at most 30 ms. This machine's speed drifts from minute to minute,
so the CPU ratio is also taken from rounds that alternate between the SQLite
replica and the PostgreSQL + Redis one (`BENCH_ROUNDS`, 5 by default).
Run: `.venv/bin/python bench/replicas.py` (needs Debian's postgresql and redis-server).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
from contextlib import ExitStack

import aiohttp
from processes import free_port, levels, service_in, shared_stores, start_upstream
from resume import follow, resume_once
from streams import Contender, compare, taking_turns

LEVELS = levels("16,64")


def body(i: int) -> dict:
    return {"query": f"question {i}", "stream": True}


async def resume_on_the_other(first: str, second: str, streams: int = 64) -> list[float]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        started: asyncio.Queue = asyncio.Queue()
        readers = [asyncio.create_task(follow(session, first, started)) for _ in range(streams)]
        states = [await started.get() for _ in range(streams)]
        times = [await resume_once(session, second, state) for state in states[:20]]
        await asyncio.gather(*readers)
        return list(times)


def main() -> None:
    with ExitStack() as stack:
        upstream_url = start_upstream(stack)
        shared = shared_stores(stack)

        def run(label: str, count: int, bench_levels: tuple[int, ...], **settings: str) -> list[tuple[str, int]]:
            print(f"\n== {label} ==")
            ports = [free_port() for _ in range(count)]
            data = stack.enter_context(tempfile.TemporaryDirectory())
            services = [service_in(stack, port, data, upstream_url, **settings) for port in ports]
            asyncio.run(
                compare(
                    levels=bench_levels,
                    upstream=upstream_url,
                    service_url=[f"http://127.0.0.1:{port}/chat/chat" for port in ports],
                    service_body=body,
                    service_pid=[service.pid for service in services],
                )
            )
            return [(f"http://127.0.0.1:{port}", service.pid) for port, service in zip(ports, services, strict=True)]

        [sqlite] = run("one replica, SQLite", 1, LEVELS)
        [on_shared] = run("one replica, PostgreSQL + Redis", 1, LEVELS, **shared)
        (first, _), (second, _) = run("two replicas, PostgreSQL + Redis, round robin", 2, (*LEVELS, 128), **shared)
        times = asyncio.run(resume_on_the_other(first, second))
        p95 = statistics.quantiles(times, n=20)[18]
        print(
            f"\nresume on the other replica, 64 answers streaming: p50 {statistics.median(times):.1f} ms, "
            f"p95 {p95:.1f} ms (target: p50 <= 30 ms)"
        )
        rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
        chat = {
            name: Contender(f"{url}/chat/chat", pid, body)
            for name, (url, pid) in (("sqlite", sqlite), ("shared", on_shared))
        }
        cpu = {name: found["cpu"] for name, found in asyncio.run(taking_turns(chat, 16, rounds)).items()}
        print(
            f"CPU per request at 16 streams, {rounds} alternating rounds (medians): SQLite {cpu['sqlite']:.2f} ms, "
            f"PostgreSQL + Redis {cpu['shared']:.2f} ms, {cpu['shared'] / cpu['sqlite']:.2f}x (target: <= 1.3x)"
        )


if __name__ == "__main__":
    os.environ.setdefault("BENCH_LEVELS", "16,64")
    main()
