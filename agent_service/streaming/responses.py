"""Turning an event stream into an HTTP response: SSE, or one JSON object."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from datetime import UTC, datetime
from typing import TypeVar

from sse_starlette import EventSourceResponse, ServerSentEvent

from agent_service.streaming.events import to_sse

T = TypeVar("T")

PING_SECONDS = 15


def _ping() -> ServerSentEvent:
    # Chatchat clients skip chunks that start with ":"; a comment keeps proxies
    # and the clients' 300 s read timeout from closing an idle stream.
    return ServerSentEvent(comment=f"ping - {datetime.now(UTC):%Y-%m-%d %H:%M:%S.%f}")


async def _frames(
    events: AsyncIterator[T], encode: Callable[[T], ServerSentEvent | bytes]
) -> AsyncIterator[ServerSentEvent | bytes]:
    async with aclosing(events):
        async for event in events:
            yield encode(event)


def sse_response(
    events: AsyncIterator[T], encode: Callable[[T], ServerSentEvent | bytes] = to_sse
) -> EventSourceResponse:
    """One data-only frame per event; `encode` makes the frame (our typed events by default),
    or the encoded frames of several, sent in one write."""
    return EventSourceResponse(
        _frames(events, encode),
        sep="\r\n",
        ping=PING_SECONDS,
        ping_message_factory=_ping,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def collect(events: AsyncIterator[T]) -> list[T]:
    """Run a stream to its end (for `stream: false`)."""
    async with aclosing(events):
        return [event async for event in events]
