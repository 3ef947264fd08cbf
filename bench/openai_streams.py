"""Benchmark: what each streaming route adds over its upstream, in one run: `/chat/chat`,
`/v1/chat/completions` and `/v1/responses`, at 1, 16 and 64 concurrent streams.

The same fake upstream (first token after 50 ms, then 64 tokens 10 ms apart) and the same
service process serve all three; each row prints time-to-first-token and full-stream time
against the upstream's, and the service's CPU time per request; then, for each level above 1,
the CPU per request of the three routes over rounds that take turns (`BENCH_ROUNDS`, 5). Run:
`.venv/bin/python bench/openai_streams.py` (`BENCH_LEVELS=1,16` for fewer levels).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile

from processes import REPO, free_port, levels, start_service, wait_until_up
from streams import OPENAI_CHAT, OPENAI_RESPONSES, SERVICE, Contender, compare, taking_turns

LEVELS = levels("1,16,64")
QUESTION = "hi"

ROUTES = {
    "/chat/chat": (lambda _: {"query": QUESTION, "stream": True, "model_name": "bench"}, SERVICE),
    "/v1/chat/completions": (
        lambda _: {"model": "bench", "stream": True, "messages": [{"role": "user", "content": QUESTION}]},
        OPENAI_CHAT,
    ),
    "/v1/responses": (lambda _: {"model": "bench", "stream": True, "input": QUESTION}, OPENAI_RESPONSES),
}


async def bench(upstream: str, service: str, pid: int) -> None:
    for route, (body, markers) in ROUTES.items():
        print(f"\n== {route} ==")
        await compare(
            levels=LEVELS,
            upstream=upstream,
            service_url=f"{service}{route}",
            service_body=body,
            service_pid=pid,
            markers=markers,
        )
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    for level in [level for level in LEVELS if level > 1]:
        routes = {
            route: Contender(f"{service}{route}", pid, body, markers) for route, (body, markers) in ROUTES.items()
        }
        cpu = {route: found["cpu"] for route, found in (await taking_turns(routes, level, rounds)).items()}
        base = cpu["/v1/chat/completions"]
        print(f"\nCPU per request at {level} streams, {rounds} rounds taking turns between the routes (medians):")
        for route, ms in cpu.items():
            print(f"  {route}: {ms:.2f} ms ({ms / base:.2f}x /v1/chat/completions)")


def main() -> None:
    upstream_port, service_port = free_port(), free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    upstream = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--port", str(upstream_port)], cwd=REPO, env=os.environ
    )
    try:
        wait_until_up(f"{upstream_url}/v1/models")
        with tempfile.TemporaryDirectory() as tmp:
            service = start_service(service_port, tmp, upstream_url)
            try:
                asyncio.run(bench(upstream_url, f"http://127.0.0.1:{service_port}", service.pid))
            finally:
                service.terminate()
                service.wait(timeout=30)
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)


if __name__ == "__main__":
    main()
