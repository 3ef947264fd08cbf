"""Timing concurrent SSE streams, straight from the upstream and through the
service, and printing the table the streaming benchmarks share."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

import httpx
from processes import cpu_seconds

WAVES = 3  # rounds of `level` concurrent streams (at 1 stream: 20 requests)
Result = tuple[float, float, bool, float]  # first token, end of stream, finished cleanly, first event (s)


def is_upstream_token(data: str) -> bool:
    return '"content": "' in data and '"content": ""' not in data


def is_service_token(data: str) -> bool:
    return '"type":"token"' in data


async def timed_stream(client: httpx.AsyncClient, url: str, body: dict, is_token: Callable[[str], bool]) -> Result:
    start = time.perf_counter()
    first = first_event = None
    ok = False
    try:
        async with client.stream("POST", url, json=body) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if first_event is None:
                    first_event = time.perf_counter() - start
                if first is None and is_token(data):
                    first = time.perf_counter() - start
                if data == "[DONE]" or '"type":"done"' in data:
                    ok = response.status_code == 200 and '"status":"error"' not in data
        total = time.perf_counter() - start
    except httpx.HTTPError:
        total = time.perf_counter() - start
    return (first if first is not None else total), total, ok and first is not None, first_event or total


async def run_level(client, url: str, bodies: Callable[[int], dict], is_token, level: int) -> list[Result]:
    results: list[Result] = []
    for wave in range(20 if level == 1 else WAVES):
        batch = [bodies(wave * level + i) for i in range(level)]
        results += await asyncio.gather(*(timed_stream(client, url, body, is_token) for body in batch))
    return results


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


async def compare(
    client: httpx.AsyncClient,
    *,
    levels: tuple[int, ...],
    upstream: str,
    service_url: str,
    service_body: Callable[[int], dict],
    service_pid: int,
) -> None:
    """For each level: streams straight from the upstream, then through `service_url`; prints both, and the gap."""

    def direct_body(_: int) -> dict:
        return {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]}

    print(
        f"{'streams':>7} | {'path':<8} | {'TTFT p50':>9} {'p95':>7} | {'stream p50':>10} | {'failed':>6} | "
        f"{'CPU/req':>8} | {'1st event p50':>13}"
    )
    for level in levels:
        direct = summary(
            await run_level(client, f"{upstream}/v1/chat/completions", direct_body, is_upstream_token, level)
        )
        cpu_before = cpu_seconds(service_pid)
        results = await run_level(client, service_url, service_body, is_service_token, level)
        cpu_per_request = (cpu_seconds(service_pid) - cpu_before) / len(results) * 1000
        through = summary(results)
        for name, row, cpu in (("upstream", direct, ""), ("service", through, f"{cpu_per_request:.1f} ms")):
            print(
                f"{level:>7} | {name:<8} | {row['ttft_p50']:>7.1f}ms {row['ttft_p95']:>5.1f}ms | "
                f"{row['total_p50']:>8.1f}ms | {row['failed']:>3}/{row['n']:<3}| {cpu:>8} | "
                f"{row['first_event_p50']:>11.1f}ms"
            )
        print(
            f"{level:>7} | {'added':<8} | {through['ttft_p50'] - direct['ttft_p50']:>7.1f}ms "
            f"{through['ttft_p95'] - direct['ttft_p95']:>5.1f}ms | "
            f"{through['total_p50'] - direct['total_p50']:>8.1f}ms |"
        )
