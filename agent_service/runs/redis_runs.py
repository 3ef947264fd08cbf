"""Live answers across replicas, through Redis.

Each replica generates its own answers, as `LocalAnswers` does, and besides:
- publishes the events of each answer to a Redis stream (`answer:<id>`, a
  bounded length, kept a while after `done`) from one task, at most every
  20 ms, never on the token path: one entry per answer per round holds the
  events since the last round, as a JSON array, and its id is `<seq>-1`
  with the `seq` of its last event; one pipeline carries every answer's
  entry. It notes who runs the answer (`run:<id>`: replica, owner, model,
  conversation);
- follows an answer another replica runs by reading its stream (all its
  followers through one connection: `runs.stream_reader`);
- sends a stop, or a decision on a tool call, to the replica that runs the
  answer over that replica's control channel (`control:<replica>`);
- keeps a heartbeat (`replica:<id>`, expiring after `replica_timeout`) and,
  every third of that, ends the live answers of replicas whose heartbeat is
  gone: `interrupted`, `server_crash`, in the database and in their streams.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from pydantic import TypeAdapter
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from agent_service.agents.approvals import AlreadyDecidedError, Decision
from agent_service.db import answers
from agent_service.db.engine import Database
from agent_service.errors import NotFoundError, ServiceError
from agent_service.runs.live import LiveAnswer, LocalAnswers
from agent_service.runs.stream_reader import StreamReader
from agent_service.runs.turn import Turn, TurnStream
from agent_service.streaming.events import DoneEvent, Event, StreamEvent

_entry_adapter: TypeAdapter[list[StreamEvent]] = TypeAdapter(list[Event])

logger = logging.getLogger(__name__)

PREFIX = "agent-service:"
STREAM_LENGTH = 100_000  # entries kept per answer (approximately); an entry holds 20 ms of events
KEEP_AFTER_DONE = 600  # seconds a finished answer's stream stays (the database has it for good)
FOLLOW_BLOCK_MS = 5_000  # a follower's wait for news before it checks the answer is still there
REPLY_SECONDS = 10.0  # how long a request to another replica waits for its answer
PUBLISH_LINGER = 0.02  # seconds an event waits to be published with the next ones (what other replicas lag)


# One call appends every answer's news. ARGV: the streams' length, how long one
# stays after `done`, and the news as JSON: per answer, [its stream, its `run:` key,
# entry id, entry, 1 if the entry holds `done`]. One argument, packed by json in C,
# costs far less than a command per answer, or an argument per field, in redis-py.
# The keys ride in the JSON, so this needs one Redis (a primary), not a Redis Cluster.
APPEND_ENTRIES = """
for _, news in ipairs(cjson.decode(ARGV[3])) do
    local stream, run, id, entry, done = unpack(news)
    redis.pcall('XADD', stream, 'MAXLEN', '~', ARGV[1], id, 'e', entry)
    if done == 1 then
        redis.call('EXPIRE', stream, ARGV[2])
        redis.call('DEL', run)
    end
end
"""


def _stream(message_id: str) -> str:
    return f"{PREFIX}answer:{message_id}"


def _run_key(message_id: str) -> str:
    return f"{PREFIX}run:{message_id}"


def _control(replica: str) -> str:
    return f"{PREFIX}control:{replica}"


def _heartbeat(replica: str) -> str:
    return f"{PREFIX}replica:{replica}"


def _entry(events: list[StreamEvent]) -> str:
    return "[" + ",".join(event.model_dump_json(exclude_none=True) for event in events) + "]"


def _events(fields: dict[bytes, bytes], after: int) -> list[StreamEvent]:
    """An entry's events with `seq > after` (an entry found by its last event's seq may begin earlier)."""
    return [event for event in _entry_adapter.validate_json(fields[b"e"]) if event.seq > after]


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
    """An answer another replica generates, followed through its stream."""

    def __init__(self, redis: Redis, turn: RemoteTurn, reader: StreamReader) -> None:
        self.redis = redis
        self.turn = turn
        self.reader = reader

    async def so_far(self, after: int = -1) -> list[StreamEvent]:
        entries = await self.redis.xrange(_stream(self.turn.message_id), min=f"{after + 1}-0")
        return [event for _, fields in entries for event in _events(fields, after)]

    async def follow(self, after: int = -1) -> AsyncIterator[StreamEvent]:
        key, last = _stream(self.turn.message_id), after
        async with self.reader.follow(key, f"{after}-1" if after >= 0 else "0-0") as news:
            while True:
                try:
                    entries = await asyncio.wait_for(news.get(), FOLLOW_BLOCK_MS / 1000)
                except TimeoutError:
                    if not await self.redis.exists(key, _run_key(self.turn.message_id)):
                        return  # gone: the answer ended long ago (the database has it)
                    continue
                for _, fields in entries:
                    for event in _events(fields, last):  # an entry may come twice: by seq, once
                        last = event.seq
                        yield event
                        if isinstance(event, DoneEvent):
                            return


class RedisAnswers(LocalAnswers):
    def __init__(
        self, db: Database, redis_url: str, *, replica_timeout: float, checkpoint_seconds: float = 1.0
    ) -> None:
        super().__init__(db, checkpoint_seconds=checkpoint_seconds)
        self.redis = Redis.from_url(redis_url)
        self.replica_timeout = replica_timeout
        self._outbox: list[Callable[[Pipeline], Any]] = []
        self._closing = False
        self._news: dict[str, tuple[LiveAnswer, int]] = {}  # answers with unpublished events: the first one's seq
        self._outbox_ready = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.reader = StreamReader(self.redis, wake_key=f"{PREFIX}wake:{self.replica}")

    # --- this replica's answers, published -------------------------------------------

    def start(self, turn: Turn, stream: TurnStream) -> LiveAnswer:
        info = {"replica": self.replica, "owner": turn.owner or "", "model": turn.model_name}
        info["conversation"] = turn.conversation_id
        self._send(lambda pipe: pipe.hset(_run_key(turn.message_id), mapping=info))
        return super().start(turn, stream)

    def _on_event(self, run: LiveAnswer, event: StreamEvent) -> None:
        if run.message_id not in self._news:
            self._news[run.message_id] = (run, event.seq)
            self._outbox_ready.set()

    def _send(self, command: Callable[[Pipeline], Any]) -> None:
        self._outbox.append(command)
        self._outbox_ready.set()

    def _take_news(self, pipe: Pipeline) -> None:
        """Each answer's events since the last round, as one entry of its stream."""
        news, self._news = self._news, {}
        if not news:
            return
        entries = []
        for run, first in news.values():
            events = run.log[first:]
            done = int(isinstance(events[-1], DoneEvent))
            entries.append(
                [_stream(run.message_id), _run_key(run.message_id), f"{events[-1].seq}-1", _entry(events), done]
            )
        # EVAL, not EVALSHA: a restarted Redis has no script cache, and the script is short.
        pipe.eval(APPEND_ENTRIES, 0, STREAM_LENGTH, KEEP_AFTER_DONE, json.dumps(entries))

    async def _publish_forever(self) -> None:
        """Publish rounds until `close`, which this ends by returning once all is out."""
        while not (self._closing and not self._outbox and not self._news):
            await self._outbox_ready.wait()
            await asyncio.sleep(PUBLISH_LINGER)  # gather the other answers' events too: one round trip for all
            self._outbox_ready.clear()
            batch, self._outbox = self._outbox, []
            pipe = self.redis.pipeline(transaction=False)
            for command in batch:  # before the news: an answer's `run:` key precedes its events
                command(pipe)
            self._take_news(pipe)
            try:
                await pipe.execute()
            except Exception:
                logger.warning("publishing to Redis failed", exc_info=True)

    # --- answers anywhere ----------------------------------------------------------

    async def find(self, message_id: str) -> LiveAnswer | RemoteAnswer | None:
        if local := self.runs.get(message_id):
            return local
        info = {key.decode(): value.decode() for key, value in (await self.redis.hgetall(_run_key(message_id))).items()}
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
        await self._ask(remote.turn.replica, {"op": "stop", "message_id": message_id, "reason": reason})
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
        reply = await self._ask(remote.turn.replica, request)
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
        reply = await self._ask(remote.turn.replica, {"op": "deliver", "message_id": message_id, "results": results})
        if reply.get("status") == 404:
            raise NotFoundError(reply["message"], param="messages")
        if reply.get("status") == 400:
            raise ServiceError(reply["message"], code=reply.get("code"), param="messages")

    async def _ask(self, replica: str, request: dict[str, Any]) -> dict[str, Any]:
        """Send `request` to another replica's control channel and wait for its reply."""
        reply_key = f"{PREFIX}reply:{self.replica}:{id(request)}:{asyncio.get_running_loop().time()}"
        await self.redis.publish(_control(replica), json.dumps({**request, "reply": reply_key}))
        answered = await self.redis.blpop([reply_key], timeout=REPLY_SECONDS)
        if answered is None:
            raise NotFoundError(f"the replica running message {request['message_id']!r} did not answer")
        return json.loads(answered[1])

    async def _listen_forever(self) -> None:
        """Do what other replicas ask of this one's answers."""
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(_control(self.replica))
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            request = json.loads(message["data"])
            asyncio.create_task(self._serve(request))

    async def _serve(self, request: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"status": 200}
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
            reply = {"status": 409, "message": str(exc)}
        except NotFoundError as exc:
            reply = {"status": 404, "message": str(exc)}
        except ServiceError as exc:
            reply = {"status": exc.status_code, "message": str(exc), "code": exc.code}
        await self.redis.rpush(request["reply"], json.dumps(reply))
        await self.redis.expire(request["reply"], int(REPLY_SECONDS) * 2)

    # --- replicas alive and dead ----------------------------------------------------

    async def _heartbeat_forever(self) -> None:
        while True:
            try:
                await self.redis.set(_heartbeat(self.replica), "1", px=int(self.replica_timeout * 1000))
                await self.end_answers_of_dead_replicas()
            except Exception:
                logger.warning("heartbeat or the check of other replicas failed", exc_info=True)
            await asyncio.sleep(self.replica_timeout / 3)

    async def end_answers_of_dead_replicas(self) -> list[str]:
        writing = await self.db.atransact(answers.replicas_writing)
        dead = [
            replica
            for replica in writing
            if replica != self.replica and not await self.redis.exists(_heartbeat(replica))
        ]
        if not dead:
            return []
        ended = await self.db.atransact(answers.interrupt_orphaned, replicas=dead)
        for message_id in ended:  # its followers, on any replica, get their `done`
            await self._close_stream(message_id)
        logger.warning("answers of replicas that stopped answering are marked interrupted: %s", ", ".join(ended))
        return ended

    async def _close_stream(self, message_id: str) -> None:
        key = _stream(message_id)
        last = await self.redis.xrevrange(key, count=1)
        if last:
            previous = _events(last[0][1], -1)[-1]
            if isinstance(previous, DoneEvent):
                return
            ids = {"conversation_id": previous.conversation_id, "message_id": message_id}
            done = DoneEvent(**ids, seq=previous.seq + 1, status="interrupted", reason="server_crash")
            await self.redis.xadd(key, {"e": _entry([done])}, id=f"{done.seq}-1")
        await self.redis.expire(key, KEEP_AFTER_DONE)
        await self.redis.delete(_run_key(message_id))

    # --- the replica's life ---------------------------------------------------------

    async def begin(self) -> None:
        """Start publishing, listening and the heartbeat (at the app's start-up)."""
        await self.redis.set(_heartbeat(self.replica), "1", px=int(self.replica_timeout * 1000))
        for work in (self._publish_forever, self._listen_forever, self._heartbeat_forever):
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
        self._closing = True
        self._outbox_ready.set()
        publisher, *others = self._tasks
        with anyio.move_on_after(REPLY_SECONDS):
            await asyncio.shield(publisher)
        for task in self._tasks:
            task.cancel()
        with anyio.move_on_after(REPLY_SECONDS):
            await asyncio.gather(*others, return_exceptions=True)
        await self.reader.aclose()
        await self.redis.delete(_heartbeat(self.replica))
        await self.redis.aclose()


def _decision_fields(decision: Decision) -> dict[str, Any]:
    return {"status": decision.status, "reason": decision.reason, "by": decision.by}
