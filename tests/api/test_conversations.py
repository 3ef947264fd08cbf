"""Conversation routes: create, list (newest first, paged), read, rename, delete."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, event

from tests.conftest import Rows
from tests.fake_openai import FakeOpenAI


async def test_create_read_rename(client: httpx.AsyncClient):
    created = await client.post("/conversations", json={"title": "Trip plans"})
    assert created.status_code == 201
    conversation = created.json()
    assert conversation["title"] == "Trip plans" and conversation["chat_type"] == "llm_chat"

    read = await client.get(f"/conversations/{conversation['id']}")
    renamed = await client.patch(f"/conversations/{conversation['id']}", json={"title": "  Paris trip "})

    assert read.json() == conversation
    assert renamed.status_code == 200 and renamed.json()["title"] == "Paris trip"
    assert (await client.get(f"/conversations/{conversation['id']}")).json()["title"] == "Paris trip"


async def test_list_is_newest_first_and_paged(client: httpx.AsyncClient):
    ids = [(await client.post("/conversations", json={"title": f"c{n}"})).json()["id"] for n in range(5)]

    first = (await client.get("/conversations", params={"limit": 2})).json()
    second = (await client.get("/conversations", params={"limit": 2, "offset": 2})).json()

    assert first["total"] == 5
    assert [c["id"] for c in first["items"]] == ids[::-1][:2]
    assert [c["id"] for c in second["items"]] == ids[::-1][2:4]


async def test_search_by_title_ignores_case_and_takes_wildcards_literally(client: httpx.AsyncClient):
    for title in ["Paris trip", "Budget for PARIS", "100% done", "Groceries"]:
        await client.post("/conversations", json={"title": title})

    paris = (await client.get("/conversations", params={"q": "paris"})).json()
    percent = (await client.get("/conversations", params={"q": "100%"})).json()
    wildcard = (await client.get("/conversations", params={"q": "%"})).json()

    assert sorted(c["title"] for c in paris["items"]) == ["Budget for PARIS", "Paris trip"] and paris["total"] == 2
    assert [c["title"] for c in percent["items"]] == ["100% done"]
    assert [c["title"] for c in wildcard["items"]] == ["100% done"]


async def test_a_new_turn_moves_a_conversation_to_the_top(client: httpx.AsyncClient, upstream: FakeOpenAI):
    older = (await client.post("/conversations", json={"title": "older"})).json()["id"]
    await client.post("/conversations", json={"title": "newer"})

    await client.post("/chat/chat", json={"query": "hi", "conversation_id": older, "model_name": "gpt-test"})

    listing = (await client.get("/conversations")).json()["items"]
    assert listing[0]["id"] == older


async def test_first_query_names_a_new_conversation(client: httpx.AsyncClient, upstream: FakeOpenAI):
    long_query = "How do I configure the service to use a PostgreSQL database instead of SQLite on my server?"
    body = (await client.post("/chat/chat", json={"query": long_query, "model_name": "gpt-test"})).json()

    title = (await client.get(f"/conversations/{body['conversation_id']}")).json()["title"]

    assert long_query.startswith(title.rstrip("…")) and len(title) <= 60


async def test_messages_come_in_order_with_status_and_feedback(client: httpx.AsyncClient, upstream: FakeOpenAI):
    upstream.enqueue("one", "two")
    first = (await client.post("/chat/chat", json={"query": "q1", "model_name": "gpt-test"})).json()
    cid = first["conversation_id"]
    await client.post("/chat/chat", json={"query": "q2", "conversation_id": cid, "model_name": "gpt-test"})
    await client.post("/chat/feedback", json={"message_id": first["message_id"], "score": 10, "reason": "wrong"})

    messages = (await client.get(f"/conversations/{cid}/messages")).json()

    assert [(m["role"], m["content"], m["status"]) for m in messages] == [
        ("user", "q1", "complete"),
        ("assistant", "one", "complete"),
        ("user", "q2", "complete"),
        ("assistant", "two", "complete"),
    ]
    assert messages[1]["feedback_score"] == 10 and messages[1]["feedback_reason"] == "wrong"
    assert messages[1]["metadata"]["finish_reason"] == "stop"
    assert messages[1]["tool_calls"] == []


async def test_delete_removes_the_conversation_and_its_messages(client, upstream: FakeOpenAI, rows: Rows):
    body = (await client.post("/chat/chat", json={"query": "hi", "model_name": "gpt-test"})).json()
    keep = (await client.post("/chat/chat", json={"query": "keep me", "model_name": "gpt-test"})).json()

    deleted = await client.delete(f"/conversations/{body['conversation_id']}")

    assert deleted.status_code == 204
    assert (await client.get(f"/conversations/{body['conversation_id']}")).status_code == 404
    assert [m.conversation_id for m in rows.messages()] == [keep["conversation_id"]] * 2


async def test_missing_and_invalid(client: httpx.AsyncClient):
    missing = "f" * 32
    assert (await client.get(f"/conversations/{missing}")).status_code == 404
    assert (await client.patch(f"/conversations/{missing}", json={"title": "x"})).status_code == 404
    assert (await client.delete(f"/conversations/{missing}")).status_code == 404
    assert (await client.get(f"/conversations/{missing}/messages")).status_code == 404
    cid = (await client.post("/conversations", json={})).json()["id"]
    blank = await client.patch(f"/conversations/{cid}", json={"title": "   "})
    assert blank.status_code == 422 and "title must not be empty" in blank.json()["msg"]
    assert (await client.get("/conversations", params={"limit": 0})).status_code == 422


@contextmanager
def deleted_just_before(app: FastAPI, statement_start: str, conversation_id: str) -> Iterator[None]:
    """Another connection deletes the conversation (and commits) right before the first
    statement that starts with `statement_start` runs: a rename or a rating racing a delete."""
    raced: list[str] = []

    def delete_first(_conn, _cursor, statement: str, *_args) -> None:
        if not raced and statement.lstrip().upper().startswith(statement_start):
            raced.append(statement)
            with closing(sqlite3.connect(app.state.services.db.engine.url.database)) as other, other:
                other.execute("DELETE FROM tool_call")
                other.execute("DELETE FROM message WHERE conversation_id = ?", (conversation_id,))
                other.execute("DELETE FROM conversation WHERE id = ?", (conversation_id,))

    event.listen(Engine, "before_cursor_execute", delete_first)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", delete_first)
    assert raced, f"no statement started with {statement_start}"


async def test_a_rename_that_races_a_delete_is_a_404(app: FastAPI, client: httpx.AsyncClient, rows: Rows):
    conversation_id = (await client.post("/conversations", json={"title": "Trip"})).json()["id"]

    with deleted_just_before(app, "UPDATE CONVERSATION", conversation_id):
        renamed = await client.patch(f"/conversations/{conversation_id}", json={"title": "Paris"})

    assert renamed.status_code == 404
    assert renamed.json()["msg"] == f"conversation {conversation_id!r} not found"
    assert rows.conversations() == []


async def test_a_delete_that_races_a_delete_is_a_404(app: FastAPI, client: httpx.AsyncClient, rows: Rows):
    conversation_id = (await client.post("/conversations", json={"title": "Trip"})).json()["id"]

    with deleted_just_before(app, "DELETE FROM TOOL_CALL", conversation_id):
        deleted = await client.delete(f"/conversations/{conversation_id}")

    assert deleted.status_code == 404
    assert rows.conversations() == []


async def test_feedback_that_races_a_delete_is_a_404(
    app: FastAPI, client: httpx.AsyncClient, upstream: FakeOpenAI, rows: Rows
):
    upstream.enqueue("An answer.")
    answer = (await client.post("/chat/chat", json={"query": "hi", "model_name": "gpt-test"})).json()

    with deleted_just_before(app, "UPDATE MESSAGE", answer["conversation_id"]):
        rated = await client.post("/chat/feedback", json={"message_id": answer["message_id"], "score": 90})

    assert rated.status_code == 404
    assert rated.json()["msg"] == f"message {answer['message_id']!r} not found"
    assert rows.messages() == []
