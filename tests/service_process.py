"""The service as a process of its own (`agent-service serve`), and a client that
streams from it in the background, noting when each event arrived."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import REPO
from tests.fake_openai import FakeOpenAI
from tests.servers import free_port

SERVE = "from agent_service.cli import main; main()"


class Service:
    """The service in a process of its own, on a data dir that outlives it."""

    def __init__(self, tmp_path: Path, upstream: FakeOpenAI, **env: str) -> None:
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            "AGENT_SERVICE_DATA_DIR": str(tmp_path / "data"),
            "AGENT_SERVICE_KB_ROOT": str(tmp_path / "knowledge_base"),
            "AGENT_SERVICE_PROMPTS_DIR": str(REPO / "prompts"),
            "AGENT_SERVICE_TOOLS_DIR": str(REPO / "tools"),
            "AGENT_SERVICE_EMBEDDINGS": json.dumps({"provider": "fake"}),
            "AGENT_SERVICE_MODELS": json.dumps(
                {"gpt-test": {"provider": "openai", "base_url": upstream.base_url, "max_retries": 0}}
            ),
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.serve_args: list[str] = []

    def start(self) -> Service:
        with httpx.Client() as probe:
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.log = self.tmp_path / f"service-{port}.log"  # what it said, for a failing test
            with self.log.open("wb") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-c", SERVE, "serve", "--port", str(port), *self.serve_args],
                    env=self.env,
                    cwd=REPO,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if probe.get(f"{self.url}/health", timeout=1).status_code == 200:
                        return self
                except httpx.TransportError:
                    time.sleep(0.1)
        raise AssertionError("the service did not start")

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Reader(threading.Thread):
    """Streams a chat turn in the background, noting when each event arrived."""

    def __init__(self, url: str, body: dict[str, Any], path: str = "/chat/chat") -> None:
        super().__init__(daemon=True)
        self.url, self.body, self.path = url, body, path
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.start()

    def run(self) -> None:
        try:
            with httpx.Client(timeout=60) as http, http.stream("POST", self.url + self.path, json=self.body) as r:
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        self.events.append((time.monotonic(), json.loads(line[6:])))
        except httpx.TransportError:
            pass  # the server died

    def received(self) -> list[dict[str, Any]]:
        return [event for _, event in self.events]

    def tokens(self) -> int:
        return sum(1 for _, event in self.events if event["type"] == "token")

    def wait_for_tokens(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while self.tokens() < count:
            assert time.monotonic() < deadline, "the answer did not stream"
            assert self.is_alive() or self.tokens() >= count, f"the stream ended early: {self.events[-3:]}"
            time.sleep(0.01)
