"""Many Redis streams read through one connection.

A replica's followers of answers that other replicas run wait for news on
those answers' streams. A blocking XREAD each would hold a Redis connection
per follower for as long as it waits. Here one task per replica blocks on
one XREAD over every stream followed and hands each follower its stream's
entries. A follower that joins wakes that XREAD through the replica's own
wake stream, which the XREAD always reads too: an entry there ends the wait
whether it came before or during it, so no join is missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

logger = logging.getLogger(__name__)

Entries = list[tuple[bytes, dict[bytes, bytes]]]

BLOCK_MS = 5_000  # the longest XREAD, before it is sent again with the streams followed then
WAKE_KEEP = 86_400  # seconds a wake stream stays after its replica's last join


StreamId = tuple[int, int]


def _stream_id(entry_id: str | bytes) -> StreamId:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    milliseconds, _, sequence = text.partition("-")
    return int(milliseconds), int(sequence or 0)


class StreamReader:
    """Entries of followed streams, for any number of followers, over one connection."""

    def __init__(self, redis: Redis, *, wake_key: str) -> None:
        self._pooled = redis
        self._reading = Redis(connection_pool=redis.connection_pool, single_connection_client=True)
        self._wake_key = wake_key
        self._wake_cursor = "0-0"
        # Per stream, each follower's queue and the last entry id it was given.
        self._followers: dict[str, dict[asyncio.Queue[Entries], StreamId]] = {}
        self._task: asyncio.Task | None = None

    @asynccontextmanager
    async def follow(self, key: str, after_id: str) -> AsyncIterator[asyncio.Queue[Entries]]:
        """A queue of the entries of stream `key` after entry `after_id`, in order, as they
        come. An entry may come again (after a follower that joined further back)."""
        queue: asyncio.Queue[Entries] = asyncio.Queue()
        self._followers.setdefault(key, {})[queue] = _stream_id(after_id)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._read_forever(), name="redis-stream-reader")
        await self._wake()
        try:
            yield queue
        finally:
            followers = self._followers.get(key, {})
            followers.pop(queue, None)
            if not followers:
                self._followers.pop(key, None)

    async def _wake(self) -> None:
        pipe = self._pooled.pipeline(transaction=False)
        await pipe.xadd(self._wake_key, {"w": "1"}, maxlen=10).expire(self._wake_key, WAKE_KEEP).execute()

    async def _read_forever(self) -> None:
        while self._followers:
            # Each stream from its furthest-back follower.
            cursors = {key: min(followers.values()) for key, followers in self._followers.items()}
            streams = {self._wake_key: self._wake_cursor} | {key: f"{ms}-{n}" for key, (ms, n) in cursors.items()}
            try:
                found = await self._reading.xread(streams, block=BLOCK_MS, count=1000)
            except Exception:
                logger.warning("reading followed answers from Redis failed", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            for raw_key, entries in found or []:
                key = raw_key.decode()
                if key == self._wake_key:
                    self._wake_cursor = entries[-1][0].decode()
                    continue
                last = _stream_id(entries[-1][0])
                for queue, given in (followers := self._followers.get(key, {})).items():
                    # A follower that joined further back meanwhile gets these after what precedes them.
                    if given >= cursors[key]:
                        queue.put_nowait(entries)
                        followers[queue] = last

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._reading.aclose()
        await self._pooled.delete(self._wake_key)
