"""Following an answer that another replica generates, through its Redis stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis

from agent_service.runs.redis_keys import entry_events, run_key, stream_key
from agent_service.runs.stream_reader import StreamReader
from agent_service.streaming.events import DoneEvent, StreamEvent

FOLLOW_BLOCK_MS = 5_000  # a follower's wait for news before it checks the answer is still there


@dataclass
class RemoteTurn:
    conversation_id: str
    message_id: str
    model_name: str
    owner: str | None
    replica: str

    @property
    def ids(self) -> dict[str, str]:
        return {"conversation_id": self.conversation_id, "message_id": self.message_id}


class RemoteAnswer:
    """An answer another replica generates, followed through its stream (all of this replica's
    followers read through one connection: `runs.stream_reader`)."""

    def __init__(self, redis: Redis, turn: RemoteTurn, reader: StreamReader) -> None:
        self.redis = redis
        self.turn = turn
        self.reader = reader

    async def so_far(self, after: int = -1) -> list[StreamEvent]:
        entries = await self.redis.xrange(stream_key(self.turn.message_id), min=f"{after + 1}-0") or []
        return [event for _, fields in entries for event in entry_events(fields, after)]

    async def follow(self, after: int = -1) -> AsyncIterator[StreamEvent]:
        key, last = stream_key(self.turn.message_id), after
        async with self.reader.follow(key, f"{after}-1" if after >= 0 else "0-0") as news:
            while True:
                try:
                    entries = await asyncio.wait_for(news.get(), FOLLOW_BLOCK_MS / 1000)
                except TimeoutError:
                    if not await self.redis.exists(key, run_key(self.turn.message_id)):
                        return  # gone: the answer ended long ago (the database has it)
                    continue
                for _, fields in entries:
                    for event in entry_events(fields, last):  # an entry may come twice: by seq, once
                        last = event.seq
                        yield event
                        if isinstance(event, DoneEvent):
                            return
