"""The service on PostgreSQL: migrations, a streamed turn, its rows."""

from __future__ import annotations

import os
import shutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from agent_service.api.app import create_app
from agent_service.db.engine import create_db_engine, migrate
from agent_service.knowledge import models as knowledge_models  # noqa: F401 - registers the tables
from tests.asgi import asgi_client
from tests.db.postgres import postgres_bin, postgres_server
from tests.fake_openai import FakeOpenAI
from tests.sse import parse_frames, types

needs_postgres = pytest.mark.skipif(
    postgres_bin() is None or (os.geteuid() == 0 and shutil.which("runuser") is None),
    reason="PostgreSQL binaries not installed (make test installs them where it can)",
)


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as url:
        yield url


@needs_postgres
def test_migrations_match_the_models_on_postgres(postgres_url: str):
    engine = create_db_engine(postgres_url)
    migrate(engine)

    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    engine.dispose()


@needs_postgres
async def test_a_conversation_on_postgres(make_settings, postgres_url: str, upstream: FakeOpenAI):
    app = create_app(make_settings(database_url=postgres_url))
    upstream.enqueue("Hello from PostgreSQL.", "Still here.")
    async with asgi_client(app) as client:
        first = parse_frames(
            (await client.post("/chat/chat", json={"query": "hi", "model_name": "gpt-test", "stream": True})).text
        )
        cid = first[0]["conversation_id"]
        await client.post(
            "/chat/chat", json={"query": "again", "model_name": "gpt-test", "conversation_id": cid, "history_len": 2}
        )
        await client.post("/chat/feedback", json={"message_id": first[0]["message_id"], "score": 80})
        messages = (await client.get(f"/conversations/{cid}/messages")).json()
        deleted = await client.delete(f"/conversations/{cid}")

    assert types(first) == ["metadata", "token", "done"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "hi"),
        ("assistant", "Hello from PostgreSQL."),
        ("user", "again"),
        ("assistant", "Still here."),
    ]
    assert messages[1]["feedback_score"] == 80 and messages[1]["metadata"]["usage"]["total_tokens"] > 0
    assert [m["content"] for m in upstream.requests[-1]["messages"]] == ["hi", "Hello from PostgreSQL.", "again"]
    assert deleted.status_code == 204
    app.state.services.close()


@needs_postgres
async def test_agent_knowledge_and_openai_turns_on_postgres(make_settings, postgres_url: str, upstream, tmp_path):
    from tests.api.test_agent_chat import TEST_TOOLS, agent_models
    from tests.conftest import Rows, tools_folder

    app = create_app(
        make_settings(
            database_url=postgres_url, models=agent_models(upstream), tools_dir=tools_folder(tmp_path, TEST_TOOLS)
        )
    )
    upstream.enqueue(
        'Action: calculator\nAction Input: {"expression": "6*7"}', "Final Answer: 42", "The valve is red [1].", "Hi."
    )
    async with asgi_client(app) as client:
        agent = parse_frames(
            (await client.post("/chat/agent_chat", json={"query": "6*7?", "model_name": "react", "stream": True})).text
        )
        await client.post("/knowledge_bases", json={"name": "notes"})
        await client.post("/knowledge_bases/notes/files", files=[("files", ("a.md", b"The valve is red."))])
        kb = parse_frames(
            (
                await client.post(
                    "/chat/knowledge_base_chat",
                    json={
                        "query": "valve colour?",
                        "knowledge_base_name": "notes",
                        "model_name": "react",
                        "stream": True,
                    },
                )
            ).text
        )
        completion = (
            await client.post(
                "/v1/chat/completions", json={"model": "react", "messages": [{"role": "user", "content": "hi"}]}
            )
        ).json()
    rows = Rows(app)
    agent_answer = next(m for m in rows.messages(agent[0]["conversation_id"]) if m.role == "assistant")
    app.state.services.close()

    assert types(agent) == ["metadata", "token", "tool_start", "tool_end", "token", "final_answer", "done"]
    assert [(c.tool, c.output) for c in rows.tool_calls(agent_answer.id)] == [("calculator", "42")]
    assert types(kb) == ["metadata", "docs", "token", "done"] and kb[1]["sources"][0]["file"] == "a.md"
    assert completion["choices"][0]["message"]["content"] == "Hi."
    assert agent_answer.status == "complete" and agent_answer.events[-1]["type"] == "done"


@needs_postgres
def test_replicas_starting_together_migrate_once(postgres_url: str):
    import concurrent.futures

    from sqlalchemy import text

    admin = create_db_engine(postgres_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("CREATE DATABASE fresh_replicas"))
    admin.dispose()
    url = postgres_url.rsplit("/", 1)[0] + "/fresh_replicas"
    engines = [create_db_engine(url) for _ in range(4)]

    with concurrent.futures.ThreadPoolExecutor(len(engines)) as pool:
        list(pool.map(migrate, engines))  # none fails on a table another one created

    with engines[0].connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    for engine in engines:
        engine.dispose()
    assert len(versions) == 1


@needs_postgres
async def test_database_work_on_postgres_stays_on_the_event_loop(postgres_url: str):
    """psycopg's async mode: a burst of turn writes runs on the loop, each round trip
    awaited, with no worker thread; errors reach the caller and roll back."""
    import asyncio
    import threading

    from agent_service.db import crud
    from agent_service.db.engine import Database
    from agent_service.errors import NotFoundError

    engine = create_db_engine(postgres_url)
    migrate(engine)
    db = Database(engine)
    loop_thread, threads = threading.get_ident(), set()

    def write(*, session, content: str) -> str:
        threads.add(threading.get_ident())
        return crud.add_turn_rows(session=session, conversation_id=None, content=content, meta={})[0]

    ids = await asyncio.gather(*(db.atransact(write, content=f"question {i}") for i in range(40)))
    with pytest.raises(NotFoundError):
        await db.atransact(crud.add_turn_rows, conversation_id="gone", content="lost", meta={})
    listed = await db.atransact(crud.list_messages, conversation_id=ids[7], owner=None)
    await db.aclose()
    engine.dispose()

    assert threads == {loop_thread}
    assert len(set(ids)) == 40 and [m.content for m in listed] == ["question 7"]
