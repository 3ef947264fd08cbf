"""Benchmark: how much of an answer a hard crash loses.

Starts the fake upstream (first token after 50 ms, then 400 tokens 10 ms
apart) in its own process on 127.0.0.1; then, `BENCH_KILLS` (20) times:
starts the service (SQLite in a temp dir), streams `BENCH_STREAMS` (4)
answers, kills the service with SIGKILL at a random moment 1-3 s in, and
reads the answers' rows straight from the database. The loss of an answer
is the time between the last token its client received and the last token
its row kept (the last checkpoint). Prints p50/max over every answer.
Target: never more than 1 s.
Run: `.venv/bin/python bench/crash_loss.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from processes import REPO, free_port, start_service, wait_until_up

KILLS = int(os.environ.get("BENCH_KILLS", "20"))
STREAMS = int(os.environ.get("BENCH_STREAMS", "4"))


async def stream(session: aiohttp.ClientSession, service: str, arrivals: list[float], ids: list[str]) -> None:
    """Read one answer until the server dies, noting when each token arrived."""
    body = {"query": "hi", "stream": True, "model_name": "bench"}
    try:
        async with session.post(f"{service}/chat/chat", json=body) as response:
            async for line in response.content:
                if line.startswith(b"data: "):
                    event = json.loads(line[6:])
                    if event["type"] == "metadata":
                        ids.append(event["message_id"])
                    elif event["type"] == "token":
                        arrivals.append(time.monotonic())
    except aiohttp.ClientError:
        pass


async def one_crash(service: str, process: subprocess.Popen) -> list[tuple[str, list[float]]]:
    async with aiohttp.ClientSession() as session:
        answers = [([], []) for _ in range(STREAMS)]
        readers = [asyncio.create_task(stream(session, service, arrivals, ids)) for arrivals, ids in answers]
        await asyncio.sleep(random.uniform(1.0, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        await asyncio.gather(*readers)
    return [(ids[0], arrivals) for arrivals, ids in answers if ids]


def main() -> None:
    upstream_port = free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    upstream = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--port", str(upstream_port), "--tokens", "400"], cwd=REPO
    )
    losses: list[float] = []
    try:
        wait_until_up(f"{upstream_url}/v1/models")
        for _ in range(KILLS):
            with tempfile.TemporaryDirectory() as tmp:
                port = free_port()
                process = start_service(port, tmp, upstream_url)
                answers = asyncio.run(one_crash(f"http://127.0.0.1:{port}", process))
                with sqlite3.connect(Path(tmp) / "agent_service.db") as db:
                    for message_id, arrivals in answers:
                        (content,) = db.execute("SELECT content FROM message WHERE id = ?", (message_id,)).fetchone()
                        kept = len(content.split())  # one word per token
                        if arrivals:  # the loss runs from the first token not kept to the last received
                            losses.append(arrivals[-1] - arrivals[kept - 1] if kept else arrivals[-1] - arrivals[0])
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
    print(f"{KILLS} kills, {len(losses)} answers cut: seconds of tokens received but not saved")
    print(f"p50 {statistics.median(losses):.2f} s, max {max(losses):.2f} s (target: never more than 1 s)")


if __name__ == "__main__":
    main()
