"""Replicas alive and dead: this replica's heartbeat (`replica:<id>`, expiring after
`replica_timeout`), and, every third of that, the end of the live answers of replicas whose
heartbeat is gone: `interrupted`, `server_crash`, in the database and in their streams."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from agent_service.db import answers
from agent_service.db.engine import Database
from agent_service.runs.redis_keys import KEEP_AFTER_DONE, entry, entry_events, heartbeat_key, run_key, stream_key
from agent_service.streaming.events import DoneEvent

logger = logging.getLogger(__name__)


class ReplicaSweeper:
    def __init__(self, redis: Redis, db: Database, replica: str, replica_timeout: float) -> None:
        self.redis = redis
        self.db = db
        self.replica = replica
        self.replica_timeout = replica_timeout

    async def beat(self) -> None:
        await self.redis.set(heartbeat_key(self.replica), "1", px=int(self.replica_timeout * 1000))

    async def stop_beating(self) -> None:
        await self.redis.delete(heartbeat_key(self.replica))

    async def sweep_forever(self) -> None:
        while True:
            try:
                await self.beat()
                await self.end_answers_of_dead_replicas()
            except Exception:
                logger.warning("heartbeat or the check of other replicas failed", exc_info=True)
            await asyncio.sleep(self.replica_timeout / 3)

    async def end_answers_of_dead_replicas(self) -> list[str]:
        writing = await self.db.atransact(answers.replicas_writing)
        dead = [
            replica
            for replica in writing
            if replica != self.replica and not await self.redis.exists(heartbeat_key(replica))
        ]
        if not dead:
            return []
        ended = await self.db.atransact(answers.interrupt_orphaned, replicas=dead)
        for message_id in ended:  # its followers, on any replica, get their `done`
            await self._close_stream(message_id)
        logger.warning("answers of replicas that stopped answering are marked interrupted: %s", ", ".join(ended))
        return ended

    async def _close_stream(self, message_id: str) -> None:
        key = stream_key(message_id)
        last = await self.redis.xrevrange(key, count=1)
        if last:
            previous = entry_events(last[0][1], -1)[-1]
            if isinstance(previous, DoneEvent):
                return
            ids = {"conversation_id": previous.conversation_id, "message_id": message_id}
            done = DoneEvent(**ids, seq=previous.seq + 1, status="interrupted", reason="server_crash")
            await self.redis.xadd(key, {"e": entry([done])}, id=f"{done.seq}-1")
        await self.redis.expire(key, KEEP_AFTER_DONE)
        await self.redis.delete(run_key(message_id))
