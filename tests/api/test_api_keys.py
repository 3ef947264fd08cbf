"""API keys: every route but /health needs one, and a conversation belongs to
the key that created it; another key sees nothing of it on any route."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from agent_service.api.app import create_app
from tests.asgi import asgi_client
from tests.conftest import Rows
from tests.fake_openai import FakeOpenAI

ALICE, BOB = "sk-alice-0123456789", "sk-bob-9876543210"


@pytest.fixture
def keyed_app(make_settings):
    app = create_app(make_settings(api_keys=[ALICE, BOB]))
    yield app
    app.state.services.close()


@pytest.fixture
async def http(keyed_app) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(keyed_app) as client:
        yield client


def as_(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_missing_or_wrong_key_is_401_in_openai_shape(http: httpx.AsyncClient):
    missing = await http.get("/conversations")
    wrong = await http.post("/chat/chat", json={"query": "hi"}, headers=as_("sk-nope"))
    health = await http.get("/health")

    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == wrong.json()["error"]["code"] == "invalid_api_key"
    assert "missing API key" in missing.json()["error"]["message"]
    assert "invalid API key" in wrong.json()["msg"]
    assert "sk-nope" not in wrong.text
    assert health.status_code == 200


async def test_another_key_cannot_see_or_touch_a_conversation(
    http: httpx.AsyncClient, upstream: FakeOpenAI, keyed_app, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    upstream.enqueue("Hello Alice.")
    first = await http.post("/chat/chat", json={"query": "I am Alice"}, headers=as_(ALICE))
    assert first.status_code == 200
    conversation_id, message_id = first.json()["conversation_id"], first.json()["message_id"]
    path = f"/conversations/{conversation_id}"

    refused = {
        "read": await http.get(path, headers=as_(BOB)),
        "messages": await http.get(f"{path}/messages", headers=as_(BOB)),
        "rename": await http.patch(path, json={"title": "mine now"}, headers=as_(BOB)),
        "delete": await http.delete(path, headers=as_(BOB)),
        "feedback": await http.post("/chat/feedback", json={"message_id": message_id, "score": 0}, headers=as_(BOB)),
    }
    bob_list = (await http.get("/conversations", headers=as_(BOB))).json()

    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 404)
    assert all("not found" in r.json()["msg"] for r in refused.values())
    assert bob_list["total"] == 0 and bob_list["items"] == []

    # A turn with Alice's id starts Bob's own conversation, as any id unknown to him does.
    upstream.enqueue("Hello Bob.")
    bobs = await http.post(
        "/chat/chat", json={"query": "and me?", "conversation_id": conversation_id}, headers=as_(BOB)
    )
    assert bobs.status_code == 200 and bobs.json()["conversation_id"] != conversation_id
    assert "Alice" not in str(upstream.requests[-1]["messages"])  # none of her history

    # Nothing of Bob's attempts reached the conversation; Alice still has all of it.
    alice_list = (await http.get("/conversations", headers=as_(ALICE))).json()
    messages = (await http.get(f"{path}/messages", headers=as_(ALICE))).json()
    assert [c["id"] for c in alice_list["items"]] == [conversation_id]
    assert [c["client_id"] for c in (await http.get("/conversations", headers=as_(BOB))).json()["items"]] == [
        conversation_id
    ]
    assert alice_list["items"][0]["title"] == "I am Alice"
    assert [(m["role"], m["content"]) for m in messages] == [("user", "I am Alice"), ("assistant", "Hello Alice.")]
    assert messages[1]["feedback_score"] is None

    upstream.enqueue("Second answer.")
    again = await http.post(
        "/chat/chat", json={"query": "again", "conversation_id": conversation_id}, headers=as_(ALICE)
    )
    feedback = await http.post("/chat/feedback", json={"message_id": message_id, "score": 90}, headers=as_(ALICE))
    assert again.json()["text"] == "Second answer." and feedback.status_code == 200

    # The keys are nowhere: not in the rows, not in the logs.
    rows = Rows(keyed_app)
    stored = json.dumps([c.model_dump(mode="json") for c in rows.conversations()]) + json.dumps(
        [m.model_dump(mode="json") for m in rows.messages()]
    )
    assert ALICE not in stored and BOB not in stored
    assert rows.conversations()[0].owner and rows.conversations()[0].owner.startswith("key-")
    assert ALICE not in caplog.text and BOB not in caplog.text


async def test_knowledge_bases_and_tools_stay_shared(http: httpx.AsyncClient):
    created = await http.post("/knowledge_bases", json={"name": "shared_kb"}, headers=as_(ALICE))
    seen_by_bob = await http.get("/knowledge_bases", headers=as_(BOB))
    tools = await http.get("/tools", headers=as_(BOB))

    assert created.status_code in (200, 201)
    assert "shared_kb" in seen_by_bob.text
    assert tools.status_code == 200


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/chat/chat", "application/json", b"{not json"),
        ("/v1/chat/completions", "application/json", b"\xff\xfe"),
        ("/knowledge_bases/kb/files", "multipart/form-data; boundary=x", b"--x\r\nbroken"),
    ],
)
@pytest.mark.parametrize("key", [None, "sk-wrong"])
async def test_a_body_that_does_not_parse_is_still_a_401_without_a_valid_key(
    http: httpx.AsyncClient, path: str, content_type: str, body: bytes, key: str | None
):
    headers = {"content-type": content_type, **(as_(key) if key else {})}

    response = await http.post(path, content=body, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_body_that_does_not_parse_with_a_valid_key_is_a_4xx_about_the_body(http: httpx.AsyncClient):
    response = await http.post(
        "/chat/chat", content=b"{not json", headers={"content-type": "application/json", **as_(ALICE)}
    )

    assert response.status_code == 422 and "JSON" in response.json()["msg"]


async def test_the_schema_and_its_docs_need_a_key_too(http: httpx.AsyncClient, client: httpx.AsyncClient):
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert (await http.get(path)).status_code == 401, path
        assert (await http.get(path, headers=as_(ALICE))).status_code == 200, path
    schema = (await http.get("/openapi.json", headers=as_(ALICE))).json()
    assert "/chat/chat" in schema["paths"]
    # With keys off (the `client` app), they are open as before.
    assert (await client.get("/openapi.json")).status_code == 200 and (await client.get("/docs")).status_code == 200


async def test_the_stored_owner_is_a_keyed_fingerprint_and_old_rows_follow_their_key(
    http: httpx.AsyncClient, keyed_app, make_settings, upstream: FakeOpenAI
):
    import hashlib

    from agent_service.db.secrets import key_fingerprint

    upstream.enqueue("Hi Alice.")
    await http.post("/chat/chat", json={"query": "hi", "model_name": "gpt-test"}, headers=as_(ALICE))
    [conversation] = Rows(keyed_app).conversations()
    unkeyed = "key-" + hashlib.sha256(ALICE.encode()).hexdigest()[:32]
    assert conversation.owner == key_fingerprint(ALICE, keyed_app.state.services.key_secret)
    assert conversation.owner != unkeyed  # a weak key cannot be checked offline against the row

    # A database from before keyed fingerprints: its rows carry the unkeyed form.
    with keyed_app.state.services.db.session() as session:
        session.get(type(conversation), conversation.id).owner = unkeyed
        session.commit()
    restarted = create_app(make_settings(api_keys=[ALICE, BOB]))  # same data dir, same secret
    async with asgi_client(restarted) as client:
        mine = (await client.get("/conversations", headers=as_(ALICE))).json()["items"]
        theirs = (await client.get("/conversations", headers=as_(BOB))).json()["items"]
    restarted.state.services.close()

    assert [c["id"] for c in mine] == [conversation.id] and theirs == []
    assert restarted.state.services.key_secret == keyed_app.state.services.key_secret
