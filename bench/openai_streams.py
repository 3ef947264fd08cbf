"""Benchmark: what each streaming route adds over its upstream, in one run: `/chat/chat`,
`/v1/chat/completions` and `/v1/responses`, at 1, 16 and 64 concurrent streams.

The same fake upstream (first token after 50 ms, then 64 tokens 10 ms apart) and the same
service process serve all three; each row prints time-to-first-token and full-stream time
against the upstream's, and the service's CPU time per request. Run:
`.venv/bin/python bench/openai_streams.py` (`BENCH_LEVELS=1,16` for fewer levels).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile

from processes import REPO, free_port, levels, start_service, wait_until_up
from streams import OPENAI_CHAT, OPENAI_RESPONSES, SERVICE, compare

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
