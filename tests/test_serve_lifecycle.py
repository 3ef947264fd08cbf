"""`agent-service serve` as a process that dies or is told to stop mid-answer:
SIGKILL then a restart (crash recovery), SIGTERM (graceful shutdown)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import httpx
import pytest

from tests.fake_openai import FakeOpenAI, Reply
from tests.service_process import Reader, Service
from tests.sse import text_of

pytestmark = pytest.mark.http_upstream  # the service runs in a process of its own


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.stop()


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
        replay = [
            json.loads(line[6:])
            for line in http.get(f"/chat/messages/{message_id}/events").text.splitlines()
            if line.startswith("data: ")
        ]

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


def test_serve_says_where_the_service_is(services, tmp_path, upstream: FakeOpenAI):
    service = Service(tmp_path, upstream).start()
    services.append(service)

    assert f"agent-service ready at {service.url}\n" in service.log.read_text()
