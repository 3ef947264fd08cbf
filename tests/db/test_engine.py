"""Database.atransact: SQLite work runs on the event loop when it can run at once,
and waits in a worker thread, never on the loop, when another writer holds
the database."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlmodel import Session, select

from agent_service.db import crud
from agent_service.db.engine import CHECKPOINT_EVERY, Database
from agent_service.db.models import Conversation
from tests.fake_openai import FakeOpenAI
from tests.sse import parse_frames, text_of


def titles(db: Database) -> list[str]:
    with db.session() as session:
        return [c.title for c in session.exec(select(Conversation)).all()]


class Ticker:
    """Counts event-loop turns every 10 ms: it stops counting if the loop is blocked."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1

    def stop(self) -> None:
        self._task.cancel()


def hold_write_lock(path: str) -> sqlite3.Connection:
    """Another process's writer, as SQLite sees it: a connection with the write lock taken."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


async def test_work_waits_in_a_thread_while_another_process_writes(database: Database):
    other = hold_write_lock(database.engine.url.database)
    ticker = Ticker()

    saving = asyncio.create_task(database.atransact(crud.create_conversation, title="after the lock"))
    await asyncio.sleep(0.3)
    assert not saving.done()  # waiting for the lock...
    assert ticker.ticks >= 10  # ...in a thread: the loop kept turning

    other.execute("COMMIT")
    other.close()
    await saving
    ticker.stop()
    assert titles(database) == ["after the lock"]  # once: the attempt on the loop left nothing behind


async def test_work_waits_in_a_thread_while_one_of_our_threads_writes(database: Database):
    writing, release = threading.Event(), threading.Event()

    def slow_write(*, session: Session) -> None:
        session.add(Conversation(title="slow"))
        writing.set()
        release.wait(5)
        session.commit()

    writer = threading.Thread(target=database.transact, args=(slow_write,))
    writer.start()
    writing.wait(5)
    ticker = Ticker()

    saving = asyncio.create_task(database.atransact(crud.create_conversation, title="next"))
    await asyncio.sleep(0.3)
    assert not saving.done() and ticker.ticks >= 10

    release.set()
    await saving
    writer.join(5)
    ticker.stop()
    assert sorted(titles(database)) == ["next", "slow"]


async def test_errors_from_the_work_reach_the_caller_and_the_next_run_works(database: Database):
    with pytest.raises(Exception, match="not found"):
        await database.atransact(crud.get_conversation, conversation_id="missing")
    await database.atransact(crud.create_conversation, title="fine")
    assert titles(database) == ["fine"]


async def test_the_wal_is_checkpointed_off_the_loop(database: Database):
    path = Path(database.engine.url.database)
    size_before = path.stat().st_size
    writes = 5 * CHECKPOINT_EVERY
    for i in range(writes):
        await database.atransact(crud.create_conversation, title=f"c{i}")
    await asyncio.sleep(0.5)  # the checkpoint started by the last write finishes
    await database.atransact(crud.create_conversation, title="after")  # starts the WAL over

    # The rows reached the database file, and the WAL holds only the last write
    # (every write adds frames: without checkpoints it would hold thousands).
    assert path.stat().st_size > size_before
    with sqlite3.connect(path) as reader:
        _, frames, _ = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames < 50


async def test_a_chat_turn_waits_for_another_writer_and_the_service_keeps_answering(
    app, client, upstream: FakeOpenAI, rows
):
    upstream.enqueue("Saved after the lock.")
    other = hold_write_lock(app.state.services.db.engine.url.database)

    chatting = asyncio.create_task(
        client.post("/chat/chat", json={"query": "hello", "model_name": "gpt-test", "stream": True})
    )
    await asyncio.sleep(0.2)
    health = await client.get("/health")  # answered while the database is still locked
    assert health.status_code == 200 and not chatting.done()

    other.execute("COMMIT")
    other.close()
    events = parse_frames((await chatting).text)
    assert text_of(events) == "Saved after the lock."
    user, answer = rows.messages(events[0]["conversation_id"])
    assert (user.content, answer.content, answer.status) == ("hello", "Saved after the lock.", "complete")
