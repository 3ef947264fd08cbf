"""Publishing this replica's answers to Redis, from one task, never on the token path.

At most every `PUBLISH_LINGER` seconds, one pipeline carries every answer's
news: one entry per answer per round holds the events since the last round, as
a JSON array, and its id is `<seq>-1` with the `seq` of its last event.
Commands queued with `send` (an answer's `run:` key) go out first.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from agent_service.runs.live import LiveAnswer
from agent_service.runs.redis_keys import KEEP_AFTER_DONE, entry, run_key, stream_key
from agent_service.streaming.events import DoneEvent, StreamEvent

logger = logging.getLogger(__name__)

STREAM_LENGTH = 100_000  # entries kept per answer (approximately); an entry holds 20 ms of events
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


class Publisher:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._outbox: list[Callable[[Pipeline], Any]] = []
        self._news: dict[str, tuple[LiveAnswer, int]] = {}  # answers with unpublished events: the first one's seq
        self._ready = asyncio.Event()
        self._closing = False

    def send(self, command: Callable[[Pipeline], Any]) -> None:
        """Queue a command for the next round."""
        self._outbox.append(command)
        self._ready.set()

    def news(self, answer: LiveAnswer, event: StreamEvent) -> None:
        """`event` of `answer` is new: it goes out with the next round."""
        if answer.message_id not in self._news:
            self._news[answer.message_id] = (answer, event.seq)
            self._ready.set()

    def _take_news(self, pipe: Pipeline) -> None:
        """Each answer's events since the last round, as one entry of its stream."""
        news, self._news = self._news, {}
        if not news:
            return
        entries = []
        for answer, first in news.values():
            events = answer.log[first:]
            done = int(isinstance(events[-1], DoneEvent))
            entries.append(
                [stream_key(answer.message_id), run_key(answer.message_id), f"{events[-1].seq}-1", entry(events), done]
            )
        # EVAL, not EVALSHA: a restarted Redis has no script cache, and the script is short.
        pipe.eval(APPEND_ENTRIES, 0, STREAM_LENGTH, KEEP_AFTER_DONE, json.dumps(entries))

    async def publish_forever(self) -> None:
        """Publish rounds until `finish`, which this ends by returning once all is out."""
        while not (self._closing and not self._outbox and not self._news):
            await self._ready.wait()
            await asyncio.sleep(PUBLISH_LINGER)  # gather the other answers' events too: one round trip for all
            self._ready.clear()
            batch, self._outbox = self._outbox, []
            pipe = self.redis.pipeline(transaction=False)
            for command in batch:  # before the news: an answer's `run:` key precedes its events
                command(pipe)
            self._take_news(pipe)
            try:
                await pipe.execute()
            except Exception:
                logger.warning("publishing to Redis failed", exc_info=True)

    def finish(self) -> None:
        """Publish what is left, then let `publish_forever` return."""
        self._closing = True
        self._ready.set()
