"""Processes the benchmarks start and watch: the fake upstream, PostgreSQL and Redis, the service;
free ports, readiness, CPU time, peak RSS."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def levels(default: str) -> tuple[int, ...]:
    """The concurrency levels to run: `BENCH_LEVELS` (e.g. `16` or `1,64`), else `default`."""
    return tuple(int(n) for n in os.environ.get("BENCH_LEVELS", default).split(","))


def start_profiler(pid: int) -> None:
    """With `BENCH_PROFILE` set, sample `pid` with py-spy: `x.svg` a flame graph, `x.txt` collapsed stacks."""
    if not (profile := os.environ.get("BENCH_PROFILE")):
        return
    kind = "raw" if profile.endswith(".txt") else "flamegraph"
    # py-spy sits beside the interpreter in the venv, which need not be on PATH.
    binary = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    spy = [binary, "record", "-p", str(pid), "-o", profile, "-r", "250", "-f", kind, "--nonblocking"]
    subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_service(
    port: int, data_dir: str, upstream_url: str, checkout: Path = REPO, **settings: str
) -> subprocess.Popen:
    """`agent-service serve` from `checkout` on 127.0.0.1:`port`, SQLite in `data_dir` (unless
    `settings`, AGENT_SERVICE_* variables, say otherwise), one model (`bench`) on the
    OpenAI-compatible `upstream_url`; ready when this returns."""
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),
        "AGENT_SERVICE_DATA_DIR": data_dir,
        "AGENT_SERVICE_PROMPTS_DIR": str(REPO / "prompts"),
        "AGENT_SERVICE_MODELS": json.dumps({"bench": {"provider": "openai", "base_url": f"{upstream_url}/v1"}}),
        **settings,
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "agent_service.cli", "serve", "--port", str(port)],
        cwd=data_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_up(f"http://127.0.0.1:{port}/health")
    return service


def service_in(
    stack: ExitStack, port: int, data_dir: str, upstream_url: str, checkout: Path = REPO, **settings: str
) -> subprocess.Popen:
    """`start_service`, stopped when `stack` closes."""
    service = start_service(port, data_dir, upstream_url, checkout, **settings)
    stack.callback(service.wait)
    stack.callback(service.terminate)
    return service


def start_upstream(stack: ExitStack, *options: str) -> str:
    """The fake upstream (`python -m tests.fake_openai`, `options` as its command line) on a
    free port, stopped when `stack` closes: its URL, once it answers."""
    port = free_port()
    upstream = subprocess.Popen([sys.executable, "-m", "tests.fake_openai", "--port", str(port), *options], cwd=REPO)
    stack.callback(upstream.terminate)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/v1/models")
    return url


def shared_stores(stack: ExitStack) -> dict[str, str]:
    """A PostgreSQL and a Redis server in temp dirs, as the tests start them, stopped when
    `stack` closes: the settings that point a service at both."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.db.postgres import postgres_server
    from tests.servers import redis_server

    return {
        "AGENT_SERVICE_DATABASE_URL": stack.enter_context(postgres_server()),
        "AGENT_SERVICE_REDIS_URL": stack.enter_context(redis_server()),
    }
