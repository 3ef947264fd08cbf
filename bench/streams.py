"""Timing concurrent SSE streams, straight from the upstream and through the
service, and printing the table the streaming benchmarks share.

The streams are read with aiohttp (its HTTP parser is C) and timed by
looking for byte markers in what arrives, not by parsing every line: at 64
streams a client that parses each event in Python (httpx `aiter_lines`)
burned most of a core, on the same two cores as the service it measures.
The table shows the client's own CPU time so its share stays visible.
"""

from __future__ import annotations

import asyncio
import re
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import aiohttp
from processes import cpu_seconds

WAVES = 3  # rounds of `level` concurrent streams (at 1 stream: 20 requests)
Result = tuple[float, float, bool, float]  # first token, end of stream, finished cleanly, first event (s)
TAIL = 64  # bytes of the previous read kept, so a marker split across two reads is still seen


class Markers:
    """What the first token, the end and a failure look like in one kind of stream."""

    def __init__(self, token: bytes, done: bytes, failed: bytes | None = None) -> None:
        self.token = re.compile(token)
        self.done = done
        self.failed = failed


UPSTREAM = Markers(token=rb'"content": ?"[^"]', done=b"data: [DONE]")
SERVICE = Markers(token=rb'"type": ?"token"', done=b'"type":"done"', failed=b'"status":"error"')
OPENAI_CHAT = Markers(token=rb'"content": ?"[^"]', done=b"data: [DONE]", failed=b'"error":')
OPENAI_RESPONSES = Markers(
    token=rb'"type": ?"response.output_text.delta"', done=b"response.completed", failed=b"response.failed"
)


async def timed_stream(session: aiohttp.ClientSession, url: str, body: dict, markers: Markers) -> Result:
    start = time.perf_counter()
    first = first_event = None
    ok = failed = False
    tail = b""
    try:
        async with session.post(url, json=body) as response:
            async for data in response.content.iter_any():
                if first_event is None and b"data:" in data:
                    first_event = time.perf_counter() - start
                seen = tail + data
                if first is None and markers.token.search(seen):
                    first = time.perf_counter() - start
                if markers.failed and markers.failed in seen:
                    failed = True
                if markers.done in seen:
                    ok = response.status == 200 and not failed
                tail = seen[-TAIL:]
        total = time.perf_counter() - start
    except aiohttp.ClientError:
        total = time.perf_counter() - start
    return (first if first is not None else total), total, ok and first is not None, first_event or total


async def run_level(
    session: aiohttp.ClientSession,
    url: str | Sequence[str],
    bodies: Callable[[int], dict],
    markers: Markers,
    level: int,
) -> list[Result]:
    """`level` concurrent streams, a few waves of them; several `url`s take turns (round robin)."""
    urls = [url] if isinstance(url, str) else list(url)
    results: list[Result] = []
    for wave in range(20 if level == 1 else WAVES):
        batch = [(urls[i % len(urls)], bodies(wave * level + i)) for i in range(level)]
        results += await asyncio.gather(*(timed_stream(session, to, body, markers) for to, body in batch))
    return results


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def summary(results: list[Result]) -> dict[str, float]:
    ttft = [r[0] * 1000 for r in results]
    p95 = lambda xs: statistics.quantiles(xs, n=20)[18] if len(xs) >= 20 else max(xs)  # noqa: E731
    return {
        "ttft_p50": statistics.median(ttft),
        "ttft_p95": p95(ttft),
        "total_p50": statistics.median(r[1] * 1000 for r in results),
        "first_event_p50": statistics.median(r[3] * 1000 for r in results),
        "failed": sum(not r[2] for r in results),
        "n": len(results),
    }


def direct_body(_: int) -> dict:
    return {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def print_row(level: int, name: str, row: dict[str, float], cpu: str = "") -> None:
    print(
        f"{level:>7} | {name:<8} | {row['ttft_p50']:>7.1f}ms {row['ttft_p95']:>5.1f}ms | "
        f"{row['total_p50']:>8.1f}ms | {row['failed']:>3}/{row['n']:<3}| {cpu:>8} | "
        f"{row['first_event_p50']:>11.1f}ms | {row['client_cpu']:>7.1f} ms"
    )


async def measured(run) -> dict[str, float]:
    """`run`'s summary, with the client's own CPU time per request."""
    before = own_cpu_seconds()
    results = await run
    row = summary(results)
    row["client_cpu"] = (own_cpu_seconds() - before) / len(results) * 1000
    return row


async def compare(
    *,
    levels: tuple[int, ...],
    upstream: str,
    service_url: str | Sequence[str],
    service_body: Callable[[int], dict],
    service_pid: int | Sequence[int],
    markers: Markers = SERVICE,
) -> None:
    """For each level: streams straight from the upstream, then through `service_url`; prints both, and the gap."""
    print(
        f"{'streams':>7} | {'path':<8} | {'TTFT p50':>9} {'p95':>7} | {'stream p50':>10} | {'failed':>6} | "
        f"{'CPU/req':>8} | {'1st event p50':>13} | {'client CPU':>10}"
    )
    connector = aiohttp.TCPConnector(limit=0)  # no cap: every stream of a level at once
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        for level in levels:
            upstream_url = f"{upstream}/v1/chat/completions"
            direct = await measured(run_level(session, upstream_url, direct_body, UPSTREAM, level))
            pids = [service_pid] if isinstance(service_pid, int) else list(service_pid)
            service_before = sum(map(cpu_seconds, pids))
            through = await measured(run_level(session, service_url, service_body, markers, level))
            cpu = (sum(map(cpu_seconds, pids)) - service_before) / through["n"] * 1000
            print_row(level, "upstream", direct)
            print_row(level, "service", through, f"{cpu:.1f} ms")
            print(
                f"{level:>7} | {'added':<8} | {through['ttft_p50'] - direct['ttft_p50']:>7.1f}ms "
                f"{through['ttft_p95'] - direct['ttft_p95']:>5.1f}ms | "
                f"{through['total_p50'] - direct['total_p50']:>8.1f}ms |"
            )


class Contender(NamedTuple):
    """One side of a comparison: where its streams go, the service process to charge, and how to ask."""

    url: str
    pid: int
    body: Callable[[int], dict]
    markers: Markers = SERVICE


async def taking_turns(contenders: dict[str, Contender], level: int, rounds: int) -> dict[str, dict[str, float]]:
    """Per contender, the medians over `rounds` of its service's CPU per request (`cpu`, ms) and
    of its TTFT p50 (`ttft`, ms). The contenders take turns round by round: this machine's speed
    drifts from minute to minute, and each gets the same share of the drift."""
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    ttft: dict[str, list[float]] = {name: [] for name in contenders}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        for contender in contenders.values():  # warm-up: the first requests import and connect
            await run_level(session, contender.url, contender.body, contender.markers, 4)
        for _ in range(rounds):
            for name, contender in contenders.items():
                before = cpu_seconds(contender.pid)
                results = await run_level(session, contender.url, contender.body, contender.markers, level)
                cpu[name].append((cpu_seconds(contender.pid) - before) / len(results) * 1000)
                ttft[name].append(summary(results)["ttft_p50"])
    return {name: {"cpu": statistics.median(cpu[name]), "ttft": statistics.median(ttft[name])} for name in contenders}
