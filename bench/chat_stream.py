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
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from processes import free_port, levels, peak_rss_mb, start_profiler, wait_until_up
from streams import compare

REPO = Path(__file__).resolve().parent.parent
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
