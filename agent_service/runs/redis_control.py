"""Requests between replicas: each listens on its control channel (`control:<replica>`) and
answers on a list the asker waits on (a stop, a decision on a tool call, the client's results)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from agent_service.errors import NotFoundError
from agent_service.runs.redis_keys import PREFIX, control_key

REPLY_SECONDS = 10.0  # how long a request to another replica waits for its answer

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlChannel:
    """`ask` another replica; `listen_forever` does what others ask of this one with `handle`,
    whose reply (`{"status": 200}`, or an error's status and message) goes back to the asker."""

    def __init__(self, redis: Redis, replica: str, handle: Handler) -> None:
        self.redis = redis
        self.replica = replica
        self.handle = handle
        self._handling: set[asyncio.Task] = set()

    async def ask(self, replica: str, request: dict[str, Any]) -> dict[str, Any]:
        """Send `request` to `replica`'s control channel and wait for its reply."""
        reply_key = f"{PREFIX}reply:{self.replica}:{id(request)}:{asyncio.get_running_loop().time()}"
        await self.redis.publish(control_key(replica), json.dumps({**request, "reply": reply_key}))
        answered = await self.redis.blpop([reply_key], timeout=REPLY_SECONDS)
        if answered is None:
            raise NotFoundError(f"the replica running message {request['message_id']!r} did not answer")
        return json.loads(answered[1])

    async def listen_forever(self) -> None:
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(control_key(self.replica))
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            task = asyncio.create_task(self._answer(json.loads(message["data"])))
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)

    async def _answer(self, request: dict[str, Any]) -> None:
        reply = await self.handle(request)
        await self.redis.rpush(request["reply"], json.dumps(reply))
        await self.redis.expire(request["reply"], int(REPLY_SECONDS) * 2)
