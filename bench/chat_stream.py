"""Benchmark: what /chat/chat adds over its upstream, at 1, 16 and 64 concurrent streams.

Starts a fake OpenAI-compatible upstream (first token after 50 ms, then 64
tokens 10 ms apart) and the service (`agent-service serve`, SQLite, in a
temp dir), each in its own process on 127.0.0.1. For each concurrency it
streams straight from the upstream, then through `/chat/chat` with a
conversation and `history_len` (history read from the database, two rows
written per request), and prints median/p95 time-to-first-token and
full-stream time, the difference, the service's CPU time per request and
its peak RSS. Run: `.venv/bin/python bench/chat_stream.py`; with
`BENCH_BASELINE=<another checkout>` the same run benches that one first.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from processes import REPO, free_port, levels, peak_rss_mb, start_profiler, start_service, wait_until_up
from streams import compare

LEVELS = levels("1,16,64")


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

        def service_body(i: int) -> dict:
            cid = conversations[i % len(conversations)]
            return {"query": "hi", "conversation_id": cid, "history_len": 5, "stream": True}

        await compare(
            levels=LEVELS,
            upstream=upstream,
            service_url=f"{service}/chat/chat",
            service_body=service_body,
            service_pid=service_pid,
        )
        print(f"service peak RSS: {peak_rss_mb(service_pid):.0f} MB (no local model loaded)")


def serve_and_bench(upstream_url: str, checkout: Path, label: str) -> None:
    """Start the service from `checkout` (its `agent_service` package) on a fresh database, and bench it."""
    service_port = free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    with tempfile.TemporaryDirectory() as tmp:
        service = start_service(service_port, tmp, upstream_url, checkout)
        try:
            print(f"\n== {label} ==")
            asyncio.run(bench(upstream_url, service_url, service.pid))
        finally:
            service.terminate()
            service.wait(timeout=30)


def main() -> None:
    """`BENCH_BASELINE=<another checkout>` (e.g. a worktree of an earlier commit) benches that
    service too, in the same run, before this one."""
    upstream_port = free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    upstream = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--port", str(upstream_port)], cwd=REPO, env=os.environ
    )
    try:
        wait_until_up(f"{upstream_url}/v1/models")
        if baseline := os.environ.get("BENCH_BASELINE"):
            serve_and_bench(upstream_url, Path(baseline).resolve(), f"baseline: {baseline}")
        serve_and_bench(upstream_url, REPO, "this checkout")
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)


if __name__ == "__main__":
    main()
