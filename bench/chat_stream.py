"""Benchmark: what /chat/chat adds over its upstream, at 1, 16 and 64 concurrent streams.

Starts a fake OpenAI-compatible upstream (first token after 50 ms, then 64
tokens 10 ms apart) and the service (`agent-service serve`, SQLite, in a
temp dir), each in its own process on 127.0.0.1. For each concurrency it
streams straight from the upstream, then through `/chat/chat` with a
conversation and `history_len` (history read from the database, two rows
written per request), and prints median/p95 time-to-first-token and
full-stream time, the difference, the service's CPU time per request and
its peak RSS. Run: `.venv/bin/python bench/chat_stream.py`.
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
from pathlib import Path

import httpx
from processes import cpu_seconds, free_port, levels, peak_rss_mb, start_profiler, wait_until_up

REPO = Path(__file__).resolve().parent.parent
LEVELS = levels("1,16,64")
WAVES = 3  # rounds of `level` concurrent streams (at 1 stream: 20 requests)


async def timed_stream(client: httpx.AsyncClient, url: str, body: dict, is_token) -> tuple[float, float, bool]:
    """(time to first token, time to end of stream, finished cleanly)."""
    start = time.perf_counter()
    first = None
    ok = False
    try:
        async with client.stream("POST", url, json=body) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if first is None and is_token(data):
                    first = time.perf_counter() - start
                if data == "[DONE]" or '"type":"done"' in data:
                    ok = '"status":"error"' not in data
        total = time.perf_counter() - start
    except httpx.HTTPError:
        total = time.perf_counter() - start
    return (first if first is not None else total), total, ok and first is not None


async def run_level(client, url, bodies, is_token, level) -> list[tuple[float, float, bool]]:
    results = []
    waves = 20 if level == 1 else WAVES
    for wave in range(waves):
        batch = [bodies(wave * level + i) for i in range(level)]
        results += await asyncio.gather(*(timed_stream(client, url, body, is_token) for body in batch))
    return results


def summary(results) -> dict[str, float]:
    ttft = [r[0] * 1000 for r in results]
    total = [r[1] * 1000 for r in results]
    p95 = lambda xs: statistics.quantiles(xs, n=20)[18] if len(xs) >= 20 else max(xs)  # noqa: E731
    return {
        "ttft_p50": statistics.median(ttft),
        "ttft_p95": p95(ttft),
        "total_p50": statistics.median(total),
        "failed": sum(not r[2] for r in results),
        "n": len(results),
    }


async def bench(upstream: str, service: str, service_pid: int) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        # One conversation per concurrent stream, each with stored history.
        conversations = []
        for _ in range(max(LEVELS)):
            created = await client.post(f"{service}/conversations", json={"title": "bench"})
            conversations.append(created.json()["id"])
        for turn in range(3):
            await asyncio.gather(
                *(
                    client.post(
                        f"{service}/chat/chat",
                        json={"query": f"warm-up {turn}", "conversation_id": cid, "stream": False},
                    )
                    for cid in conversations
                )
            )

        start_profiler(service_pid)  # after the warm-up

        def direct_body(_: int) -> dict:
            return {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]}

        def service_body(i: int) -> dict:
            cid = conversations[i % len(conversations)]
            return {"query": "hi", "conversation_id": cid, "history_len": 5, "stream": True}

        print(
            f"{'streams':>7} | {'path':<8} | {'TTFT p50':>9} {'p95':>7} | {'stream p50':>10} | {'failed':>6} | "
            f"{'CPU/req':>8}"
        )
        for level in LEVELS:
            direct = summary(
                await run_level(
                    client,
                    f"{upstream}/v1/chat/completions",
                    direct_body,
                    lambda d: '"content": "' in d and '"content": ""' not in d,
                    level,
                )
            )
            cpu_before = cpu_seconds(service_pid)
            results = await run_level(
                client, f"{service}/chat/chat", service_body, lambda d: '"type":"token"' in d, level
            )
            cpu_per_request = (cpu_seconds(service_pid) - cpu_before) / len(results) * 1000
            through = summary(results)
            for name, row, cpu in (("upstream", direct, ""), ("service", through, f"{cpu_per_request:.1f} ms")):
                print(
                    f"{level:>7} | {name:<8} | {row['ttft_p50']:>7.1f}ms {row['ttft_p95']:>5.1f}ms | "
                    f"{row['total_p50']:>8.1f}ms | {row['failed']:>3}/{row['n']:<3}| {cpu:>8}"
                )
            print(
                f"{level:>7} | {'added':<8} | {through['ttft_p50'] - direct['ttft_p50']:>7.1f}ms "
                f"{through['ttft_p95'] - direct['ttft_p95']:>5.1f}ms | "
                f"{through['total_p50'] - direct['total_p50']:>8.1f}ms |"
            )
        print(f"service peak RSS: {peak_rss_mb(service_pid):.0f} MB (no local model loaded)")


def main() -> None:
    upstream_port, service_port = free_port(), free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    service_url = f"http://127.0.0.1:{service_port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "AGENT_SERVICE_DATA_DIR": tmp,
            "AGENT_SERVICE_PROMPTS_DIR": str(REPO / "prompts"),
            "AGENT_SERVICE_MODELS": json.dumps({"bench": {"provider": "openai", "base_url": f"{upstream_url}/v1"}}),
        }
        upstream = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_openai", "--port", str(upstream_port)], cwd=REPO, env=env
        )
        service = subprocess.Popen(
            [sys.executable, "-m", "agent_service.cli", "serve", "--port", str(service_port)],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(f"{upstream_url}/v1/models")
            wait_until_up(f"{service_url}/health")
            asyncio.run(bench(upstream_url, service_url, service.pid))
        finally:
            for process in (service, upstream):
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
