"""Conversation ids a client chooses (Chatchat 0.2's web UI makes a uuid4().hex per dialogue)."""

from __future__ import annotations

import uuid

import pytest

from agent_service.api.app import create_app
from tests.asgi import asgi_client
from tests.conftest import Rows
from tests.fake_openai import FakeOpenAI
from tests.sse import parse_frames, text_of


def chatchat_body(query: str, conversation_id: str | None) -> dict:
    """Every key Chatchat 0.2's `ApiRequest.chat_chat` sends."""
    return {
        "query": query,
        "conversation_id": conversation_id,
        "history_len": -1,
        "history": [],
        "stream": True,
        "model_name": "gpt-test",
        "temperature": 0.7,
        "max_tokens": None,
        "prompt_name": "default",
    }


async def test_an_unknown_client_id_starts_a_conversation_with_that_id(client, upstream: FakeOpenAI, rows: Rows):
    dialogue = uuid.uuid4().hex
    upstream.enqueue("Hello Ada.", "Your name is Ada.")

    first = await client.post("/chat/chat", json=chatchat_body("I am Ada", dialogue))
    second = await client.post("/chat/chat", json=chatchat_body("Who am I?", dialogue) | {"history_len": 5})

    assert first.status_code == second.status_code == 200
    assert parse_frames(first.text)[0]["conversation_id"] == dialogue
    assert text_of(parse_frames(second.text)) == "Your name is Ada."
    (conversation,) = rows.conversations()
    assert conversation.id == dialogue and conversation.title == "I am Ada"
    assert [m.content for m in rows.messages(dialogue)] == ["I am Ada", "Hello Ada.", "Who am I?", "Your name is Ada."]
    assert "I am Ada" in str(upstream.requests[-1]["messages"])  # the history came from the database


async def test_an_id_another_key_took_first_does_not_lock_its_owner_out(make_settings, upstream: FakeOpenAI):
    """Ids are namespaced by key: Bob guessing Alice's next id and using it first claims nothing of hers."""
    app = create_app(make_settings(api_keys=["sk-alice", "sk-bob"]))
    alice, bob = {"Authorization": "Bearer sk-alice"}, {"Authorization": "Bearer sk-bob"}
    dialogue = "dialogue-2"  # predictable
    upstream.enqueue("Bob's answer.", "Hello Ada.", "Your name is Ada.")
    async with asgi_client(app) as http:
        claimed = await http.post("/chat/chat", json=chatchat_body("I am Bob", dialogue), headers=bob)
        first = await http.post("/chat/chat", json=chatchat_body("I am Ada", dialogue), headers=alice)
        second = await http.post(
            "/chat/chat", json=chatchat_body("Who am I?", dialogue) | {"history_len": 5}, headers=alice
        )
        alices = (await http.get(f"/conversations/{dialogue}/messages", headers=alice)).json()
        bobs = (await http.get(f"/conversations/{dialogue}/messages", headers=bob)).json()
        listed = (await http.get("/conversations", headers=alice)).json()["items"]
        renamed = await http.patch(f"/conversations/{dialogue}", json={"title": "Ada's"}, headers=alice)
        deleted = await http.delete(f"/conversations/{dialogue}", headers=alice)
        bobs_after = (await http.get(f"/conversations/{dialogue}/messages", headers=bob)).json()
    app.state.services.close()

    assert claimed.status_code == first.status_code == second.status_code == 200
    assert text_of(parse_frames(second.text)) == "Your name is Ada."
    assert "I am Ada" in str(upstream.requests[-1]["messages"]) and "Bob" not in str(upstream.requests[-1]["messages"])
    assert [m["content"] for m in alices] == ["I am Ada", "Hello Ada.", "Who am I?", "Your name is Ada."]
    assert [m["content"] for m in bobs] == ["I am Bob", "Bob's answer."]
    assert [(c["client_id"], c["title"]) for c in listed] == [(dialogue, "I am Ada")]
    assert parse_frames(first.text)[0]["conversation_id"] == listed[0]["id"] != dialogue
    assert renamed.status_code == 200 and renamed.json()["title"] == "Ada's"
    assert deleted.status_code == 204 and [m["content"] for m in bobs_after] == ["I am Bob", "Bob's answer."]


@pytest.mark.parametrize("bad", ["has space", "x" * 65, "../etc", "ünïcode", "a\x00b"])
async def test_a_malformed_id_is_a_400_and_writes_nothing(client, rows: Rows, bad: str):
    response = await client.post("/chat/chat", json=chatchat_body("hi", bad))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_conversation_id"
    assert "conversation_id" in response.json()["msg"]
    assert rows.messages() == [] and rows.conversations() == []


async def test_every_chat_route_takes_a_client_id(client, upstream: FakeOpenAI, rows: Rows):
    ids = {route: uuid.uuid4().hex for route in ("agent", "kb", "v1")}
    await client.post("/knowledge_bases", json={"name": "notes"})
    await client.post("/knowledge_bases/notes/files", files=[("files", ("a.md", b"The valve is red."))])

    agent = await client.post(
        "/chat/agent_chat", json={"query": "hi", "conversation_id": ids["agent"], "model_name": "scripted"}
    )
    kb = await client.post(
        "/chat/knowledge_base_chat",
        json={
            "query": "valve?",
            "conversation_id": ids["kb"],
            "knowledge_base_name": "notes",
            "model_name": "gpt-test",
        },
    )
    v1 = await client.post(
        "/v1/chat/completions",
        json={"model": "gpt-test", "conversation_id": ids["v1"], "messages": [{"role": "user", "content": "hi"}]},
    )
    bad_v1 = await client.post(
        "/v1/chat/completions",
        json={"model": "gpt-test", "conversation_id": "not ok", "messages": [{"role": "user", "content": "hi"}]},
    )

    assert agent.status_code == kb.status_code == v1.status_code == 200, (agent.text, kb.text, v1.text)
    assert v1.json()["conversation_id"] == ids["v1"]
    assert {c.id for c in rows.conversations()} == set(ids.values())
    assert bad_v1.status_code == 400 and bad_v1.json()["error"]["param"] == "conversation_id"
