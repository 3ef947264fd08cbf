"""`agent-service serve` as a process that dies or is told to stop mid-answer:
SIGKILL then a restart (crash recovery), SIGTERM (graceful shutdown)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.fake_openai import FakeOpenAI, Reply
from tests.sse import text_of

SERVE = "from agent_service.cli import main; main()"


class Service:
    """The service in a process of its own, on a data dir that outlives it."""

    def __init__(self, tmp_path: Path, upstream: FakeOpenAI, **env: str) -> None:
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

    def start(self) -> Service:
        with httpx.Client() as probe:
            port = _free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.process = subprocess.Popen(
                [sys.executable, "-c", SERVE, "serve", "--port", str(port)],
                env=self.env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
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


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def services(tmp_path: Path, upstream: FakeOpenAI) -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.stop()


class Reader(threading.Thread):
    """Streams a chat turn in the background, noting when each event arrived."""

    def __init__(self, url: str, body: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.url, self.body = url, body
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.start()

    def run(self) -> None:
        try:
            with httpx.Client(timeout=30) as http, http.stream("POST", f"{self.url}/chat/chat", json=self.body) as r:
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        self.events.append((time.monotonic(), json.loads(line[6:])))
        except httpx.TransportError:
            pass  # the server died

    def tokens(self) -> int:
        return sum(1 for _, event in self.events if event["type"] == "token")

    def wait_for_tokens(self, count: int) -> None:
        deadline = time.monotonic() + 20
        while self.tokens() < count:
            assert time.monotonic() < deadline, "the answer did not stream"
            time.sleep(0.01)


def test_sigkill_mid_answer_then_restart_keeps_the_last_checkpoint(services, tmp_path, upstream: FakeOpenAI):
    service = Service(tmp_path, upstream).start()
    services.append(service)
    upstream.enqueue(Reply(text=" ".join(f"w{n}" for n in range(200)), delay=0.02))  # 4 s
    reader = Reader(service.url, {"query": "long", "stream": True, "model_name": "gpt-test"})
    reader.wait_for_tokens(80)  # past the first checkpoints
    service.signal(signal.SIGKILL)
    service.wait()
    reader.join(timeout=10)
    received = text_of([event for _, event in reader.events])
    message_id = reader.events[0][1]["message_id"]

    restarted = Service(tmp_path, upstream).start()
    services.append(restarted)
    with httpx.Client(base_url=restarted.url, timeout=10) as http:
        conversation = reader.events[0][1]["conversation_id"]
        answer = http.get(f"/conversations/{conversation}/messages").json()[-1]
        replay = [json.loads(line[6:]) for line in http.get(f"/chat/messages/{message_id}/events").text.splitlines()
                  if line.startswith("data: ")]

    assert (answer["status"], answer["metadata"]["reason"]) == ("interrupted", "server_crash")
    saved = answer["content"]
    assert saved and received.startswith(saved)
    # What the client had but the database lost arrived in at most about a second.
    token_times = [at for at, event in reader.events if event["type"] == "token"]
    saved_tokens = len(saved.split())
    assert token_times[-1] - token_times[saved_tokens - 1] <= 1.25
    assert text_of(replay) == saved
    assert replay[-1]["type"] == "done"
    assert (replay[-1]["status"], replay[-1]["reason"]) == ("interrupted", "server_crash")


def test_sigterm_lets_short_answers_finish_and_interrupts_the_rest(services, tmp_path, upstream: FakeOpenAI):
    service = Service(tmp_path, upstream, AGENT_SERVICE_SHUTDOWN_GRACE="1").start()
    services.append(service)
    upstream.enqueue(Reply(text=" ".join(f"w{n}" for n in range(300)), delay=0.02))  # 6 s
    long = Reader(service.url, {"query": "long", "stream": True, "model_name": "gpt-test"})
    long.wait_for_tokens(3)
    upstream.enqueue(Reply(text=" ".join(f"s{n}" for n in range(20)), delay=0.02))  # 0.4 s
    short = Reader(service.url, {"query": "short", "stream": True, "model_name": "gpt-test"})
    short.wait_for_tokens(1)

    service.signal(signal.SIGTERM)
    service.wait()  # uvicorn re-raises the signal once it has shut down
    long.join(timeout=10)
    short.join(timeout=10)

    short_events = [event for _, event in short.events]
    assert short_events[-1]["type"] == "done" and short_events[-1]["status"] == "complete"
    long_events = [event for _, event in long.events]
    error, done = long_events[-2:]
    assert error["type"] == "error" and "shutting down" in error["message"]
    assert (done["type"], done["status"], done["reason"]) == ("done", "interrupted", "server_shutdown")
    assert len(text_of(long_events).split()) < 300

    restarted = Service(tmp_path, upstream).start()
    services.append(restarted)
    with httpx.Client(base_url=restarted.url, timeout=10) as http:
        answer = http.get(f"/conversations/{long_events[0]['conversation_id']}/messages").json()[-1]
    assert (answer["status"], answer["metadata"]["reason"]) == ("interrupted", "server_shutdown")
    assert answer["content"] == text_of(long_events)
