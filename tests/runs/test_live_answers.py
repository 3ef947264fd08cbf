"""A live answer ends saved, whatever its stream does when it is stopped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest
from sqlmodel import select

from agent_service.db.engine import Database
from agent_service.db.models import Message
from agent_service.runs.live import LocalAnswers
from agent_service.runs.turn import Outcome, Turn, begin_turn
from agent_service.streaming.events import MetadataEvent, StreamEvent, TokenEvent


class Endless:
    """A turn stream that streams until it is stopped; `interrupted` says what it made, or fails."""

    approvals = client_calls = outcome = None
    waiting = False

    def __init__(self, turn: Turn, *, fails: bool) -> None:
        self.turn, self.fails, self.sent = turn, fails, 0
        self.streaming = asyncio.Event()

    async def events(self) -> AsyncGenerator[StreamEvent, None]:
        yield MetadataEvent(**self.turn.ids, model="m")
        while True:
            yield TokenEvent(**self.turn.ids, text="word ")
            self.sent += 1
            self.streaming.set()
            await asyncio.sleep(0.01)

    def interrupted(self, reason: str) -> Outcome:
        if self.fails:
            raise RuntimeError("cannot tell")
        return Outcome(content="what it made", status="interrupted", meta={"reason": reason, "mine": True})


def answer_row(database: Database, message_id: str) -> Message:
    with database.session() as session:
        return session.exec(select(Message).where(Message.id == message_id)).one()


@pytest.mark.parametrize("fails", [False, True])
async def test_a_stopped_answer_is_saved_with_what_its_stream_made(database: Database, fails: bool):
    turn = database.transact(
        begin_turn,
        conversation_id=None,
        query="go on",
        chat_type="llm_chat",
        model_name="m",
        history=[],
        history_len=0,
        request={},
    )
    stream = Endless(turn, fails=fails)
    runs = LocalAnswers(database)

    live = runs.start(turn, stream)
    await asyncio.wait_for(stream.streaming.wait(), 5)
    stopped = await asyncio.wait_for(runs.stop(turn.message_id, "stopped"), 5)

    row = answer_row(database, turn.message_id)
    assert stopped and live.finished
    assert row.status == "interrupted"
    if fails:  # the events are what is left: the text the live answer sent
        assert row.content == "word " * stream.sent and row.meta == {"reason": "stopped"}
    else:
        assert row.content == "what it made" and row.meta == {"reason": "stopped", "mine": True}
