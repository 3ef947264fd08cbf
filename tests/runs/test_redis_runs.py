"""Two replicas on one PostgreSQL and one Redis, as two processes on two ports,
tested through HTTP: an answer is followed, stopped and decided on either, a
conversation continues on the other, a background response is resumed, cancelled
and continued on the other, and a replica that dies is noticed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.db.postgres import postgres_bin, postgres_server
from tests.fake_openai import FakeOpenAI, Reply
from tests.servers import redis_bin, redis_server
from tests.service_process import Reader, Service
from tests.sse import parse_frames, text_of, types

pytestmark = [
    pytest.mark.skipif(
        postgres_bin() is None or redis_bin() is None or (os.geteuid() == 0 and shutil.which("runuser") is None),
        reason="PostgreSQL and Redis servers are needed (make test installs them where it can)",
    ),
    pytest.mark.http_upstream,  # the replicas are processes of their own
]

LONG = " ".join(f"w{n}" for n in range(150))


@pytest.fixture(scope="module")
def stores() -> Iterator[dict[str, str]]:
    with postgres_server() as database, redis_server() as redis:
        yield {"AGENT_SERVICE_DATABASE_URL": database, "AGENT_SERVICE_REDIS_URL": redis}


@pytest.fixture
def replicas(
    request, tmp_path: Path, upstream: FakeOpenAI, stores: dict[str, str]
) -> Iterator[tuple[Service, Service]]:
    # Short, so a dead replica is noticed quickly; a test under heavy load asks for longer
    # (`@pytest.mark.parametrize("replicas", [seconds], indirect=True)`): a busy replica is not a dead one.
    timeout = getattr(request, "param", 1.5)
    env = {**stores, "AGENT_SERVICE_REPLICA_TIMEOUT": str(timeout)}
    a = Service(tmp_path, upstream, **env).start()
    b = Service(tmp_path, upstream, **env).start()
    yield a, b
    a.stop()
    b.stop()


def events_on(service: Service, message_id: str, after: int = -1) -> list[dict]:
    response = httpx.get(f"{service.url}/chat/messages/{message_id}/events", params={"after": after}, timeout=30)
    assert response.status_code == 200, response.text
    return parse_frames(response.text)


def test_an_answer_on_one_replica_is_resumed_and_stopped_on_the_other(replicas, upstream: FakeOpenAI):
    a, b = replicas
    upstream.enqueue(Reply(text=LONG, delay=0.03))
    reader = Reader(a.url, {"query": "long", "stream": True, "model_name": "gpt-test"})
    reader.wait_for_tokens(10)
    message_id = reader.received()[0]["message_id"]

    with (
        httpx.Client(base_url=b.url, timeout=30) as http,
        http.stream("GET", f"/chat/messages/{message_id}/events", params={"after": 3}) as followed,
    ):
        lines = followed.iter_lines()
        first = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
        stopped = http.post(f"/chat/messages/{message_id}/stop")
        rest = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    reader.join(timeout=10)

    assert first["seq"] == 4
    assert stopped.status_code == 200 and stopped.json()["stopped"] is True
    assert (stopped.json()["status"], stopped.json()["reason"]) == ("interrupted", "stopped")
    assert rest[-1]["type"] == "done" and rest[-1]["reason"] == "stopped"
    on_a = reader.received()
    assert on_a[-1] == rest[-1]  # the same done, from the replica that ran it
    assert text_of(on_a[:4]) + text_of([first, *rest]) == text_of(on_a)
    assert len(text_of(on_a).split()) < 150


def test_an_answer_just_started_on_one_replica_is_followed_on_the_other(replicas, upstream: FakeOpenAI):
    a, b = replicas
    upstream.enqueue(Reply(text="one two three four five", first_delay=0.3))
    body = {"query": "quick", "stream": True, "model_name": "gpt-test"}
    assert httpx.get(f"{b.url}/chat/messages/none/events").status_code == 404  # B's connections are open
    with httpx.Client(timeout=30) as http, http.stream("POST", f"{a.url}/chat/chat", json=body) as started:
        lines = started.iter_lines()
        first = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
        on_b = events_on(b, first["message_id"], after=first["seq"])  # before a replica publishes (20 ms)
        on_a = [first] + [json.loads(line[6:]) for line in lines if line.startswith("data: ")]

    assert on_b == on_a[1:]
    assert on_b[-1]["type"] == "done" and on_b[-1]["status"] == "complete"


def test_a_conversation_goes_on_through_the_other_replica(replicas, upstream: FakeOpenAI):
    a, b = replicas
    upstream.enqueue("Nice to meet you, Ada.", "Your name is Ada.")
    first = parse_frames(
        httpx.post(f"{a.url}/chat/chat", json={"query": "I am Ada", "stream": True, "model_name": "gpt-test"}).text
    )
    conversation = first[0]["conversation_id"]
    second = httpx.post(
        f"{b.url}/chat/chat",
        json={"query": "Who am I?", "conversation_id": conversation, "history_len": 5, "model_name": "gpt-test"},
    )

    assert second.json()["text"] == "Your name is Ada."
    assert "I am Ada" in json.dumps(upstream.requests[-1]["messages"])
    messages = httpx.get(f"{a.url}/conversations/{conversation}/messages").json()
    assert [m["content"] for m in messages] == ["I am Ada", "Nice to meet you, Ada.", "Who am I?", "Your name is Ada."]
    assert types(events_on(b, first[0]["message_id"])) == ["metadata", "token", "done"]


def test_a_replica_killed_mid_answer_is_noticed_by_the_other(replicas, upstream: FakeOpenAI):
    a, b = replicas
    upstream.enqueue(Reply(text=LONG, delay=0.03))
    reader = Reader(a.url, {"query": "long", "stream": True, "model_name": "gpt-test"})
    reader.wait_for_tokens(50)  # past the first checkpoints
    message_id = reader.received()[0]["message_id"]
    conversation = reader.received()[0]["conversation_id"]
    a.signal(signal.SIGKILL)
    a.wait()
    killed = time.monotonic()

    deadline = killed + 10
    while True:
        answer = httpx.get(f"{b.url}/conversations/{conversation}/messages").json()[-1]
        if answer["status"] != "streaming" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    noticed = time.monotonic() - killed
    replay = events_on(b, message_id)

    assert (answer["status"], answer["metadata"]["reason"]) == ("interrupted", "server_crash")
    assert noticed <= 1.5 + 1.0  # the replica timeout, and one check's interval
    assert answer["content"] and text_of(reader.received()).startswith(answer["content"])
    assert text_of(replay) == answer["content"]
    assert (replay[-1]["type"], replay[-1]["status"], replay[-1]["reason"]) == ("done", "interrupted", "server_crash")


def test_a_background_response_is_resumed_cancelled_and_continued_on_the_other_replica(replicas, upstream: FakeOpenAI):
    a, b = replicas
    upstream.enqueue(Reply(text=LONG, delay=0.03), "Continued.")
    on_a = openai.OpenAI(base_url=f"{a.url}/v1", api_key="unused", max_retries=0, timeout=30)
    on_b = openai.OpenAI(base_url=f"{b.url}/v1", api_key="unused", max_retries=0, timeout=30)

    queued = on_a.responses.create(model="gpt-test", input="long", background=True)
    resumed = []
    with on_b.responses.retrieve(queued.id, stream=True, starting_after=3) as stream:
        for event in stream:
            resumed.append(event)
            if len(resumed) == 10:
                break
    cancelled = on_b.responses.cancel(queued.id)
    on_first = on_a.responses.retrieve(queued.id)
    continued = on_b.responses.create(model="gpt-test", input="Go on.", previous_response_id=queued.id)

    assert queued.status == "queued"
    assert [event.sequence_number for event in resumed] == list(range(4, 14))
    assert cancelled.status == on_first.status == "cancelled"
    assert 0 < len(on_first.output_text.split()) < 150
    assert continued.output_text == "Continued."
    assert upstream.requests[-1]["messages"] == [
        {"role": "user", "content": "long"},
        {"role": "assistant", "content": on_first.output_text},
        {"role": "user", "content": "Go on."},
    ]


@pytest.mark.parametrize("replicas", [10.0], indirect=True)
def test_two_replicas_share_64_concurrent_streams(replicas, upstream: FakeOpenAI):
    a, b = replicas
    upstream.default = Reply(text=" ".join(f"t{n}" for n in range(20)), delay=0.01)
    try:
        readers = [
            Reader((a, b)[n % 2].url, {"query": f"question {n}", "stream": True, "model_name": "gpt-test"})
            for n in range(64)
        ]
        for reader in readers:
            reader.join(timeout=60)
    finally:
        upstream.default = Reply()

    ends = [reader.received()[-1] for reader in readers]
    assert all(end["type"] == "done" and end["status"] == "complete" for end in ends)
    for reader in readers:
        first = reader.received()[0]
        messages = httpx.get(f"{b.url}/conversations/{first['conversation_id']}/messages").json()
        assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "complete")], (
            messages
        )
        assert messages[1]["content"] == text_of(reader.received())
