"""Bad input to /chat/chat: a clear 4xx, and nothing written."""

from __future__ import annotations

import pytest

from tests.conftest import Rows
from tests.fake_openai import FakeOpenAI

BAD_BODIES = [
    ({"query": ""}, 422, "query must not be empty"),
    ({"query": "   \n"}, 422, "query must not be empty"),
    ({}, 422, "query: Field required"),
    ({"query": 42}, 422, "query"),
    ({"query": "hi", "temperature": 2.5}, 422, "temperature"),
    ({"query": "hi", "temperature": -0.1}, 422, "temperature"),
    ({"query": "hi", "temperature": "warm"}, 422, "temperature"),
    ({"query": "hi", "history_len": 1_000_000}, 422, "history_len"),
    ({"query": "hi", "history": "not a list"}, 422, "history"),
    ({"query": "hi", "history": [["user", "pairs are not items"]]}, 422, "history"),
    ({"query": "hi", "history": [{"role": "wizard", "content": "x"}]}, 422, "history.0.role"),
    ({"query": "hi", "history": [{"role": "user"}]}, 422, "history.0.content"),
    ({"query": "hi", "stream": "sometimes"}, 422, "stream"),
    ({"query": "hi", "model_name": "no-such-model"}, 400, "configured models: gpt-test, scripted"),
    ({"query": "hi", "prompt_name": "no-such-prompt"}, 400, "available: concise, default, same_language"),
    ({"query": "hi", "prompt_name": "../secrets"}, 400, "prompt name '../secrets' must not be a path"),
    ({"query": "hi", "prompt_name": "default\x00"}, 400, "prompt name 'default\\x00' must not contain control"),
    ({"query": "hi", "prompt_name": ".hidden"}, 400, "unknown prompt_name '.hidden'"),
    ({"query": "hi", "conversation_id": "not an id!"}, 400, "conversation_id must be 1 to 64 letters"),
    (
        {"query": "hi", "history": [{"role": "user", "content": "x" * 90_000}] * 20},
        422,
        "history holds 1,800,000 characters, over the limit of 400,000",
    ),
    ({"query": "hi", "history": [{"role": "user", "content": "x" * 100_001}]}, 422, "history.0.content"),
    ({"query": "hi", "history": [{"role": "user", "content": "x"}] * 201}, 422, "history"),
    ({"query": "hi", "max_tokens": 99_999_999_999_999}, 422, "max_tokens"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_BODIES)
async def test_bad_input_is_refused_and_writes_nothing(client, upstream: FakeOpenAI, rows: Rows, body, status, message):
    response = await client.post("/chat/chat", json={"model_name": "gpt-test", "stream": True, **body})

    assert response.status_code == status
    assert message in response.json()["msg"]
    assert rows.conversations() == [] and rows.messages() == []
    assert upstream.requests == []


async def test_not_json_is_refused(client, rows: Rows):
    response = await client.post("/chat/chat", content=b"{not json", headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert "JSON" in response.json()["msg"]
    assert rows.messages() == []


async def test_bad_input_in_an_existing_conversation_adds_no_message(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue("first answer")
    first = await client.post("/chat/chat", json={"query": "first", "model_name": "gpt-test", "stream": False})
    conversation_id = first.json()["conversation_id"]

    refused = await client.post(
        "/chat/chat", json={"query": "second", "conversation_id": conversation_id, "temperature": 9}
    )

    assert refused.status_code == 422
    assert [m.content for m in rows.messages(conversation_id)] == ["first", "first answer"]
