"""Answers apart from their connection: numbered events, resume, stop,
`on_disconnect`, and the row checkpointed while the answer streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from agent_service.api.app import create_app
from tests.api.test_agent_chat import TEST_TOOLS, agent_models
from tests.asgi import asgi_client
from tests.conftest import Rows, tools_folder, wait_for
from tests.fake_openai import FakeOpenAI, Reply
from tests.sse import parse_frames, text_of, types

WORDS = [f"w{n}" for n in range(40)]
SLOW = Reply(text=" ".join(WORDS), delay=0.05)  # about 2 s


class Events:
    """The events of a streamed response, read a few at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def until(self, stop: Any = lambda _: False) -> list[dict[str, Any]]:
        """Events up to and with the first that `stop(event)` accepts, or to the end."""
        events = []
        async for line in self.lines:
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if stop(events[-1]):
                    break
        return events


async def resume(http: httpx.AsyncClient, message_id: str, after: int = -1) -> list[dict[str, Any]]:
    response = await http.get(f"/chat/messages/{message_id}/events", params={"after": after})
    assert response.status_code == 200, response.text
    return parse_frames(response.text)


def assert_numbered(events: list[dict[str, Any]]) -> None:
    assert [e["seq"] for e in events] == list(range(len(events)))


async def test_every_event_is_numbered(client, upstream: FakeOpenAI):
    upstream.enqueue("one two three")
    events = parse_frames((await client.post("/chat/chat", json={"query": "hi", "stream": True})).text)

    assert types(events) == ["metadata", "token", "done"]
    assert_numbered(events)


async def test_agent_and_knowledge_base_events_are_numbered(make_settings, upstream: FakeOpenAI, tmp_path: Path):
    app = create_app(make_settings(models=agent_models(upstream), tools_dir=tools_folder(tmp_path, TEST_TOOLS)))
    upstream.enqueue('Action: calculator\nAction Input: {"expression": "2+3"}', "Final Answer: 5")
    async with asgi_client(app) as http:
        agent = parse_frames(
            (await http.post("/chat/agent_chat", json={"query": "2+3?", "model_name": "react", "stream": True})).text
        )
        await http.post("/knowledge_bases", json={"name": "notes"})
        await http.post("/knowledge_bases/notes/files", files=[("files", ("a.md", b"The valve is red."))])
        upstream.enqueue("It is red [1].")
        body = {"query": "Valve colour?", "knowledge_base_name": "notes", "stream": True, "model_name": "react"}
        kb = parse_frames((await http.post("/chat/knowledge_base_chat", json=body)).text)
    app.state.services.close()

    assert types(agent) == ["metadata", "token", "tool_start", "tool_end", "token", "final_answer", "done"]
    assert types(kb) == ["metadata", "docs", "token", "done"]
    assert_numbered(agent)
    assert_numbered(kb)


async def test_resume_a_finished_answer_after_any_seq(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue("The quick brown fox jumps over the lazy dog.")
    original = parse_frames((await client.post("/chat/chat", json={"query": "hi", "stream": True})).text)
    message_id = original[0]["message_id"]
    full = text_of(original)

    for after in range(-1, len(original)):
        replayed = await resume(client, message_id, after)
        assert all(e["seq"] > after for e in replayed)
        assert text_of(original[: after + 1]) + text_of(replayed) == full
        if after < original[-1]["seq"]:
            assert replayed[-1] == original[-1]  # the same done, with its seq

    everything = await resume(client, message_id)
    assert types(everything) == ["metadata", "token", "done"]  # the tokens merged into one
    assert everything[1]["seq"] == original[-2]["seq"]
    assert rows.messages()[-1].last_seq == original[-1]["seq"]


async def test_resume_is_scoped_by_key(make_settings, upstream: FakeOpenAI):
    app = create_app(make_settings(api_keys=["sk-a", "sk-b"]))
    async with asgi_client(app) as http:
        a, b = {"Authorization": "Bearer sk-a"}, {"Authorization": "Bearer sk-b"}
        events = parse_frames((await http.post("/chat/chat", json={"query": "hi", "stream": True}, headers=a)).text)
        message_id = events[0]["message_id"]

        mine = await http.get(f"/chat/messages/{message_id}/events", headers=a)
        theirs = await http.get(f"/chat/messages/{message_id}/events", headers=b)
        theirs_stop = await http.post(f"/chat/messages/{message_id}/stop", headers=b)
        unknown = await http.get(f"/chat/messages/{'0' * 32}/events", headers=a)
        bad_after = await http.get(f"/chat/messages/{message_id}/events?after=-2", headers=a)
    app.state.services.close()

    assert mine.status_code == 200 and parse_frames(mine.text)[-1]["type"] == "done"
    assert theirs.status_code == theirs_stop.status_code == unknown.status_code == 404
    assert "not found" in unknown.json()["msg"]
    assert bad_after.status_code == 422


async def test_stopping_a_finished_answer_changes_nothing(client, upstream: FakeOpenAI, rows: Rows):
    events = parse_frames((await client.post("/chat/chat", json={"query": "hi", "stream": True})).text)

    response = await client.post(f"/chat/messages/{events[0]['message_id']}/stop")

    assert response.status_code == 200
    assert response.json()["stopped"] is False and response.json()["status"] == "complete"
    assert rows.messages()[-1].status == "complete"


async def test_history_skips_answers_still_streaming(live_server: str, upstream: FakeOpenAI):
    # Slow enough that the first answer is still streaming when the second turn reads the history,
    # however loaded the machine (the first one is cancelled when its client leaves).
    upstream.enqueue(Reply(text=" ".join(WORDS), delay=0.5), "second answer")
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        body = {"query": "first", "stream": True, "model_name": "gpt-test"}
        async with http.stream("POST", "/chat/chat", json=body) as first:
            # Held: a reader dropped here would be finalized, closing the first connection.
            first_events = Events(first)
            events = await first_events.until(lambda e: e["type"] == "token")
            follow_up = {"query": "second", "conversation_id": events[0]["conversation_id"], "history_len": 5}
            await http.post("/chat/chat", json={**follow_up, "model_name": "gpt-test"})

    sent = [m["content"] for m in upstream.requests[-1]["messages"]]
    assert "first" in sent and not any("w0" in text for text in sent)


async def test_continue_runs_to_the_end_after_a_disconnect_and_resumes(live_server: str, upstream, rows: Rows):
    upstream.enqueue(SLOW)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        body = {"query": "go on without me", "stream": True, "model_name": "gpt-test", "on_disconnect": "continue"}
        async with http.stream("POST", "/chat/chat", json=body) as response:
            seen = await Events(response).until(lambda e: e["type"] == "token" and e["text"].strip() == "w2")
        message_id = seen[0]["message_id"]

        rest = await resume(http, message_id, seen[-1]["seq"])  # still live: follows to the end

    assert rest[0]["seq"] == seen[-1]["seq"] + 1
    assert text_of(seen) + text_of(rest) == " ".join(WORDS)
    assert rest[-1]["type"] == "done" and rest[-1]["status"] == "complete"
    answer = wait_for(rows.saved_answer)
    assert answer.status == "complete" and answer.content == " ".join(WORDS)
    assert upstream.streams_cut == 0


def test_cancel_on_disconnect_closes_the_upstream_request(live_server: str, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue(SLOW)
    body = {"query": "stop when I go", "stream": True, "model_name": "gpt-test", "on_disconnect": "cancel"}
    with httpx.Client(base_url=live_server, timeout=10) as http, http.stream("POST", "/chat/chat", json=body) as r:
        for line in r.iter_lines():
            if '"w1"' in line or '" w1"' in line:
                break

    answer = wait_for(rows.saved_answer)
    assert (answer.status, answer.meta["reason"]) == ("interrupted", "client_disconnected")
    wait_for(lambda: upstream.streams_cut == 1)


async def test_two_clients_follow_one_live_answer_and_either_can_stop_it(live_server: str, upstream, rows: Rows):
    upstream.enqueue(Reply(text=" ".join(f"w{n}" for n in range(400)), delay=0.02))
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        body = {"query": "long", "stream": True, "model_name": "gpt-test"}
        async with http.stream("POST", "/chat/chat", json=body) as first:
            first_events = Events(first)
            head = await first_events.until(lambda e: e["type"] == "token")
            message_id = head[0]["message_id"]
            async with http.stream("GET", f"/chat/messages/{message_id}/events") as second:
                second_events = Events(second)
                second_head = await second_events.until(lambda e: e["type"] == "token")
                stop = await http.post(f"/chat/messages/{message_id}/stop")
                second_rest = await second_events.until()
            first_rest = await first_events.until()

    assert stop.status_code == 200 and stop.json() | {"conversation_id": None} == {
        "message_id": message_id,
        "conversation_id": None,
        "stopped": True,
        "status": "interrupted",
        "reason": "stopped",
    }
    for events in (head + first_rest, second_head + second_rest):
        assert_numbered(events)
        assert events[-1] | {"usage": None} == {
            **events[-1],
            "type": "done",
            "status": "interrupted",
            "reason": "stopped",
            "usage": None,
        }
    assert text_of(head + first_rest) == text_of(second_head + second_rest)
    answer = rows.saved_answer()
    assert (answer.status, answer.meta["reason"]) == ("interrupted", "stopped")
    assert answer.content == text_of(head + first_rest)
    assert len(answer.content.split()) < 400


async def test_stop_while_the_agent_is_inside_a_slow_tool(make_settings, upstream, tmp_path: Path, live_server_for):
    app = create_app(make_settings(models=agent_models(upstream), tools_dir=tools_folder(tmp_path, TEST_TOOLS)))
    upstream.enqueue('Action: slow\nAction Input: {"seconds": 30}')
    url = live_server_for(app)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        body = {"query": "wait", "stream": True, "model_name": "react"}
        async with http.stream("POST", "/chat/agent_chat", json=body) as response:
            events = Events(response)
            head = await events.until(lambda e: e["type"] == "tool_start")
            stop = await http.post(f"/chat/messages/{head[0]['message_id']}/stop")
            rest = await events.until()

    assert stop.json()["stopped"] is True
    assert types(rest) == ["done"] and (rest[-1]["status"], rest[-1]["reason"]) == ("interrupted", "stopped")
    rows = Rows(app)
    answer = rows.saved_answer()
    (call,) = rows.tool_calls(answer.id)
    assert (call.tool, call.error) == ("slow", "stopped")


async def test_answers_are_checkpointed_while_they_stream(live_server: str, upstream: FakeOpenAI, rows: Rows):
    for _ in range(2):
        upstream.enqueue(Reply(text=" ".join(f"w{n}" for n in range(60)), delay=0.05))  # about 3 s each
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        body = {"query": "slowly", "stream": True, "model_name": "gpt-test"}
        async with (
            http.stream("POST", "/chat/chat", json=body) as one,
            http.stream("POST", "/chat/chat", json=body) as two,
        ):
            streams = [Events(one), Events(two)]
            seen = [
                await events.until(lambda e: e["type"] == "token" and e["text"].strip() == "w30") for events in streams
            ]
            answers = {m.id: m for m in rows.messages() if m.role == "assistant"}
            for events in streams:
                await events.until()

    for events in seen:
        answer = answers[events[0]["message_id"]]
        assert answer.status == "streaming"
        assert answer.content and text_of(events).startswith(answer.content)
        assert 0 < answer.last_seq < events[-1]["seq"]
        assert answer.events[0]["type"] == "metadata"


async def test_the_token_path_does_not_write_to_the_database(app, client, upstream: FakeOpenAI):
    statements: list[str] = []
    engines = [app.state.services.db.engine, app.state.services.db._on_loop]

    def count(conn, cursor, statement, *args) -> None:
        if not statement.lstrip().upper().startswith(("PRAGMA", "SELECT")):
            statements.append(statement.split()[0].upper())

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        for tokens in (2, 64):
            upstream.enqueue(Reply(chunks=[f" t{n}" for n in range(tokens)]))
            statements.clear()
            events = parse_frames((await client.post("/chat/chat", json={"query": "hi", "stream": True})).text)
            assert len([e for e in events if e["type"] == "token"]) == tokens
            if tokens == 2:
                few = list(statements)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)

    assert statements == few  # the same writes, whatever the answer's length
    assert len(statements) <= 5, statements


async def test_openai_chunks_are_numbered_and_resume(client, upstream: FakeOpenAI):
    upstream.enqueue("Resumable answers are here.")
    body = {"model": "gpt-test", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    response = await client.post("/v1/chat/completions", json=body)
    chunks = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")]
    seqs = [chunk["seq"] for chunk in chunks]
    assert sorted(set(seqs)) == list(range(max(seqs) + 1)) and seqs == sorted(seqs)
    completion_id = chunks[0]["id"]

    stored = (await client.get(f"/v1/chat/completions/{completion_id}")).json()
    assert stored["object"] == "chat.completion" and stored["id"] == completion_id
    assert stored["choices"][0]["message"]["content"] == "Resumable answers are here."

    after = chunks[2]["seq"]
    params = {"stream": "true", "after": after}
    resumed = (await client.get(f"/v1/chat/completions/{completion_id}", params=params)).text
    lines = [line[6:] for line in resumed.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    rest = [json.loads(line) for line in lines[:-1]]
    assert all(chunk["seq"] > after for chunk in rest)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:3] + rest if c["choices"])
    assert text == "Resumable answers are here."

    cancelled = await client.post(f"/v1/chat/completions/{completion_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["choices"][0]["finish_reason"] == "stop"
    missing = await client.get("/v1/chat/completions/chatcmpl-" + "0" * 32)
    assert missing.status_code == 404 and missing.json()["error"]["message"]


async def test_openai_cancel_stops_a_live_completion(live_server: str, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue(SLOW)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        body = {"model": "gpt-test", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            lines = response.aiter_lines()
            async for line in lines:
                if line.startswith("data: {") and " w1" in line:
                    completion_id = json.loads(line[6:])["id"]
                    break
            cancelled = await http.post(f"/v1/chat/completions/{completion_id}/cancel")
            rest = [line async for line in lines if line.startswith("data: ")]

    assert cancelled.status_code == 200
    completion = cancelled.json()
    assert (completion["status"], completion["reason"]) == ("interrupted", "stopped")
    assert completion["choices"][0]["message"]["content"].startswith("w0 w1")
    assert rest[-1] == "data: [DONE]"
    assert json.loads(rest[-2][6:])["reason"] == "stopped"
    assert rows.saved_answer().status == "interrupted"


@pytest.mark.parametrize("value", ["later", 1])
async def test_on_disconnect_takes_cancel_or_continue(client, value):
    response = await client.post("/chat/chat", json={"query": "hi", "on_disconnect": value})
    assert response.status_code == 422 and "on_disconnect" in response.json()["msg"]


async def test_a_turn_is_refused_while_the_server_shuts_down(app, client, upstream: FakeOpenAI, rows: Rows):
    await app.state.services.runs.shutdown(0)

    response = await client.post("/chat/chat", json={"query": "hi"})

    assert response.status_code == 503 and "shutting down" in response.json()["msg"]
    assert rows.messages() == []


async def test_a_finished_agent_answer_replays_its_steps_and_tool_calls(make_settings, upstream, tmp_path: Path):
    app = create_app(make_settings(models=agent_models(upstream), tools_dir=tools_folder(tmp_path, TEST_TOOLS)))
    upstream.enqueue('Thought: add them\nAction: calculator\nAction Input: {"expression": "2+3"}', "Final Answer: 5")
    async with asgi_client(app) as http:
        body = {"query": "2+3?", "model_name": "react", "stream": True}
        live = parse_frames((await http.post("/chat/agent_chat", json=body)).text)
        replayed = await resume(http, live[0]["message_id"])
    app.state.services.close()

    assert (
        types(replayed)
        == types(live)
        == ["metadata", "token", "tool_start", "tool_end", "token", "final_answer", "done"]
    )
    assert [e["step"] for e in replayed if e["type"] == "token"] == [1, 2]  # one merged token per step
    assert text_of(replayed) == text_of(live)
    chatchat_keys = {"answer", "tools", "final_answer"}  # the Chatchat route's own, not the events'
    canonical = [{k: v for k, v in e.items() if k not in chatchat_keys} for e in live if e["type"] != "token"]
    assert [e for e in replayed if e["type"] != "token"] == canonical
    assert "tools" in next(e for e in live if e["type"] == "tool_end")
