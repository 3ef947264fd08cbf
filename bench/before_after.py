"""Benchmark: this checkout against another, in one run, the two services taking turns.

`BENCH_BASELINE=<another checkout>` (e.g. a worktree of an earlier commit). Starts the fake
upstream (first token after 50 ms, then 64 tokens 10 ms apart), then for each store set-up,
SQLite (as `bench/chat_stream.py` runs) and PostgreSQL + Redis (as `bench/replicas.py` runs
one replica), one service from each checkout side by side. `/chat/chat` streams go to one,
then the other, round after round (`BENCH_ROUNDS`, 5), at `BENCH_LEVELS` (16, 64) concurrent
streams; it prints the medians over rounds of the service's CPU per request and of the
time to first token. This machine's speed drifts from minute to minute: taking turns keeps
that drift out of the comparison.
Run: `BENCH_BASELINE=/tmp/base .venv/bin/python bench/before_after.py`.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

from processes import REPO, free_port, levels, service_in, shared_stores, start_upstream
from streams import Contender, taking_turns


def body(i: int) -> dict:
    return {"query": f"question {i}", "stream": True}


def main() -> None:
    baseline = Path(os.environ["BENCH_BASELINE"]).resolve()
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    with ExitStack() as stack:
        upstream_url = start_upstream(stack)
        setups = {"SQLite": {}, "PostgreSQL + Redis": shared_stores(stack)}
        for label, settings in setups.items():
            services = {}
            for name, checkout in (("before", baseline), ("after", REPO)):
                port, data = free_port(), stack.enter_context(tempfile.TemporaryDirectory())
                service = service_in(stack, port, data, upstream_url, checkout, **settings)
                services[name] = Contender(f"http://127.0.0.1:{port}/chat/chat", service.pid, body)
            print(f"\n== {label}: {baseline} (before) and {REPO} (after), {rounds} rounds taking turns ==")
            for level in levels("16,64"):
                found = asyncio.run(taking_turns(services, level, rounds))
                before, after = found["before"], found["after"]
                print(
                    f"{level:>3} streams: CPU per request {before['cpu']:.2f} ms before, {after['cpu']:.2f} ms after "
                    f"({after['cpu'] / before['cpu']:.2f}x); TTFT p50 {before['ttft']:.1f} ms before, "
                    f"{after['ttft']:.1f} ms after"
                )


if __name__ == "__main__":
    main()
