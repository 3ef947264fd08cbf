"""Live answers across replicas, through Redis.

Each replica generates its own answers, as `LocalAnswers` does, and besides,
with a part for each job:
- publishes the events of each answer to a Redis stream (`answer:<id>`, a
  bounded length, kept a while after `done`) and notes who runs the answer
  (`run:<id>`: replica, owner, model, conversation): `runs.redis_publisher`;
- follows an answer another replica runs by reading its stream:
  `runs.redis_follower`;
- sends a stop, a decision on a tool call or the client's tool results to the
  replica that runs the answer, over that replica's control channel:
  `runs.redis_control`;
- keeps a heartbeat and ends the live answers of replicas whose heartbeat is
  gone: `runs.redis_sweeper`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
from redis.asyncio import Redis

from agent_service.agents.approvals import AlreadyDecidedError, Decision
from agent_service.db.engine import Database
from agent_service.errors import NotFoundError, ServiceError
from agent_service.runs.live import LiveAnswer, LocalAnswers
from agent_service.runs.redis_control import REPLY_SECONDS, ControlChannel
from agent_service.runs.redis_follower import RemoteAnswer, RemoteTurn
from agent_service.runs.redis_keys import run_key, wake_key
from agent_service.runs.redis_publisher import Publisher
from agent_service.runs.redis_sweeper import ReplicaSweeper
from agent_service.runs.stream_reader import StreamReader
from agent_service.runs.turn import Turn, TurnStream
from agent_service.streaming.events import StreamEvent

__all__ = ["RedisAnswers", "RemoteAnswer", "RemoteTurn"]


class RedisAnswers(LocalAnswers):
    def __init__(
        self, db: Database, redis_url: str, *, replica_timeout: float, checkpoint_seconds: float = 1.0
    ) -> None:
        super().__init__(db, checkpoint_seconds=checkpoint_seconds)
        self.redis = Redis.from_url(redis_url)
        self.publisher = Publisher(self.redis)
        self.reader = StreamReader(self.redis, wake_key=wake_key(self.replica))
        self.control = ControlChannel(self.redis, self.replica, self._handle)
        self.sweeper = ReplicaSweeper(self.redis, db, self.replica, replica_timeout)
        self._tasks: list[asyncio.Task] = []

    # --- this replica's answers, published -------------------------------------------

    def start(self, turn: Turn, stream: TurnStream) -> LiveAnswer:
        info: dict[Any, Any] = {"replica": self.replica, "owner": turn.owner or "", "model": turn.model_name}
        info["conversation"] = turn.conversation_id
        self.publisher.send(lambda pipe: pipe.hset(run_key(turn.message_id), mapping=info))
        return super().start(turn, stream)

    def _on_event(self, run: LiveAnswer, event: StreamEvent) -> None:
        self.publisher.news(run, event)

    # --- answers anywhere ----------------------------------------------------------

    async def find(self, message_id: str) -> LiveAnswer | RemoteAnswer | None:
        if local := self.runs.get(message_id):
            return local
        info = {_text(key): _text(value) for key, value in (await self.redis.hgetall(run_key(message_id))).items()}
        if not info:
            return None
        turn = RemoteTurn(info["conversation"], message_id, info["model"], info["owner"] or None, info["replica"])
        return RemoteAnswer(self.redis, turn, self.reader)

    async def stop(self, message_id: str, reason: str) -> bool:
        if message_id in self.runs:
            return await super().stop(message_id, reason)
        remote = await self.find(message_id)
        if not isinstance(remote, RemoteAnswer):
            return False
        await self.control.ask(remote.turn.replica, {"op": "stop", "message_id": message_id, "reason": reason})
        async for _ in remote.follow(-1):  # until its done is published: it is saved by then
            pass
        return True

    async def decide(self, message_id: str, run_id: str, decision: Decision) -> None:
        if message_id in self.runs:
            return await super().decide(message_id, run_id, decision)
        remote = await self.find(message_id)
        if not isinstance(remote, RemoteAnswer):
            raise NotFoundError(f"no tool call {run_id!r} of message {message_id!r} is waiting for approval")
        request = {"op": "decide", "message_id": message_id, "run_id": run_id, **_decision_fields(decision)}
        reply = await self.control.ask(remote.turn.replica, request)
        if reply.get("status") == 409:
            raise AlreadyDecidedError(reply["message"])
        if reply.get("status") == 404:
            raise NotFoundError(reply["message"])

    async def deliver(self, message_id: str, results: dict[str, str]) -> None:
        if message_id in self.runs:
            return await super().deliver(message_id, results)
        remote = await self.find(message_id)
        if not isinstance(remote, RemoteAnswer):
            raise NotFoundError(f"message {message_id!r} waits for no tool result", param="messages")
        request = {"op": "deliver", "message_id": message_id, "results": results}
        reply = await self.control.ask(remote.turn.replica, request)
        if reply.get("status") == 404:
            raise NotFoundError(reply["message"], param="messages")
        if reply.get("status") == 400:
            raise ServiceError(reply["message"], code=reply.get("code"), param="messages")

    async def _handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Do what another replica asks of one of this replica's answers."""
        try:
            if request["op"] == "stop":
                if run := self.runs.get(request["message_id"]):
                    run.stop(request["reason"])
            elif request["op"] == "decide":
                decision = Decision(request["status"], request["reason"], request["by"])
                await super().decide(request["message_id"], request["run_id"], decision)
            elif request["op"] == "deliver":
                await super().deliver(request["message_id"], request["results"])
        except AlreadyDecidedError as exc:
            return {"status": 409, "message": str(exc)}
        except NotFoundError as exc:
            return {"status": 404, "message": str(exc)}
        except ServiceError as exc:
            return {"status": exc.status_code, "message": str(exc), "code": exc.code}
        return {"status": 200}

    async def end_answers_of_dead_replicas(self) -> list[str]:
        return await self.sweeper.end_answers_of_dead_replicas()

    # --- the replica's life ---------------------------------------------------------

    async def begin(self) -> None:
        """Start publishing, listening and the heartbeat (at the app's start-up)."""
        await self.sweeper.beat()
        for work in (self.publisher.publish_forever, self.control.listen_forever, self.sweeper.sweep_forever):
            self._tasks.append(asyncio.create_task(work(), name=f"redis-{work.__name__}"))

    async def check_stores(self) -> dict[str, str]:
        try:
            await asyncio.wait_for(self.redis.ping(), 3.0)
            return {"redis": "ok"}
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return {"redis": f"unavailable: {type(exc).__name__}"}

    async def close(self) -> None:
        # The publisher ends itself once what is left (the shutdown's last events) is out.
        # It is not cancelled: a cancel landing inside redis-py's reply timeout can be
        # taken for that timeout, and the task would wait on for news forever.
        self.publisher.finish()
        publisher, *others = self._tasks
        with anyio.move_on_after(REPLY_SECONDS):
            await asyncio.shield(publisher)
        for task in self._tasks:
            task.cancel()
        with anyio.move_on_after(REPLY_SECONDS):
            await asyncio.gather(*others, return_exceptions=True)
        await self.reader.aclose()
        await self.sweeper.stop_beating()
        await self.redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _decision_fields(decision: Decision) -> dict[str, Any]:
    return {"status": decision.status, "reason": decision.reason, "by": decision.by}
