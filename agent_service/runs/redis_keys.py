"""Where the replicas keep what they share in Redis, and how an answer's stream entries read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from agent_service.streaming.events import Event, StreamEvent

PREFIX = "agent-service:"
KEEP_AFTER_DONE = 600  # seconds a finished answer's stream stays (the database has it for good)

_entry_adapter: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def stream_key(message_id: str) -> str:
    """The answer's events: one entry per publishing round, id `<seq of its last event>-1`."""
    return f"{PREFIX}answer:{message_id}"


def run_key(message_id: str) -> str:
    """Who generates the answer, while it is live: replica, owner, model, conversation."""
    return f"{PREFIX}run:{message_id}"


def control_key(replica: str) -> str:
    """The replica's control channel: stops and the decisions and results for its answers."""
    return f"{PREFIX}control:{replica}"


def wake_key(replica: str) -> str:
    """Ends the replica's stream reader's wait when a follower joins (`runs.stream_reader`)."""
    return f"{PREFIX}wake:{replica}"


def heartbeat_key(replica: str) -> str:
    return f"{PREFIX}replica:{replica}"


def entry(events: list[StreamEvent]) -> str:
    return "[" + ",".join(event.model_dump_json(exclude_none=True) for event in events) + "]"


def entry_events(fields: Mapping[Any, Any] | None, after: int) -> list[StreamEvent]:
    """An entry's events with `seq > after` (an entry found by its last event's seq may begin earlier)."""
    events = _entry_adapter.validate_json((fields or {})[b"e"])
    return [event for event in events if event.seq > after]
