"""An answer's events as the database keeps them, and back again.

Stored form: a JSON list of the events without their ids (the row has
them). Consecutive tokens of one step are merged into one, which carries the
`seq` of the last token it replaces and the length of each (`sizes`), so a
replay can start after any `seq`, even one inside a merged run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from agent_service.streaming.events import StreamEvent, TokenEvent, event_adapter

IDS = {"conversation_id", "message_id"}


def compact(events: Iterable[StreamEvent]) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = []
    texts: list[list[str]] = []  # the parts of each merged token, joined at the end
    for event in events:
        if isinstance(event, TokenEvent):
            last = stored[-1] if stored else None
            if last is not None and last["type"] == "token" and last.get("step") == event.step:
                last["seq"] = event.seq
                last["sizes"].append(len(event.text))
                texts[-1].append(event.text)
                continue
            token: dict[str, Any] = {"type": "token", "seq": event.seq, "sizes": [len(event.text)]}
            if event.step is not None:
                token["step"] = event.step
            stored.append(token)
            texts.append([event.text])
        else:
            stored.append(event.model_dump(mode="json", exclude_none=True, exclude=IDS))
    parts = iter(texts)
    for item in stored:
        if item["type"] == "token":
            item["text"] = "".join(next(parts))
    return stored


def expand(
    stored: Sequence[dict[str, Any]], *, ids: dict[str, str], split_at: int = -1, every_token: bool = False
) -> list[StreamEvent]:
    """The stored events; a merged token that `split_at` falls inside becomes two:
    its tokens up to `split_at` (with that seq) and the rest. With `every_token`, each
    merged token becomes the tokens it was made of, as they streamed (a renderer that
    numbers its own events gives the same numbers live and stored)."""
    events: list[StreamEvent] = []
    for item in stored:
        data = {**item, **ids}
        sizes = data.pop("sizes", None)
        if sizes and every_token:
            first, start = data["seq"] - len(sizes) + 1, 0
            for n, size in enumerate(sizes):
                text = data["text"][start : start + size]
                events.append(event_adapter.validate_python({**data, "seq": first + n, "text": text}))
                start += size
            continue
        if sizes and data["seq"] - len(sizes) < split_at < data["seq"]:
            cut = sum(sizes[: split_at - (data["seq"] - len(sizes))])
            events.append(event_adapter.validate_python({**data, "seq": split_at, "text": data["text"][:cut]}))
            data["text"] = data["text"][cut:]
        events.append(event_adapter.validate_python(data))
    return events


def events_after(stored: Sequence[dict[str, Any]], after: int, *, ids: dict[str, str]) -> list[StreamEvent]:
    """The stored events with `seq > after`, starting inside a merged token when `after` does."""
    return [event for event in expand(stored, ids=ids, split_at=after) if event.seq > after]


def tool_call_rows(stored: Iterable[dict[str, Any]], *, open_error: str) -> list[dict[str, Any]]:
    """The tool calls of stored events, in order, as tool_call rows (for an
    answer a crash cut: calls without an end get `open_error`)."""
    calls: dict[str, dict[str, Any]] = {}
    for item in stored:
        match item["type"]:
            case "tool_start":
                calls[item["run_id"]] = {
                    "position": len(calls),
                    "run_id": item["run_id"],
                    "tool": item["tool"],
                    "input": item.get("input"),
                    "output": None,
                    "error": None,
                }
            case "tool_end" if item["run_id"] in calls:
                calls[item["run_id"]]["output"] = item["output"]
            case "tool_error" if item["run_id"] in calls:
                calls[item["run_id"]]["error"] = item["error"]
    for call in calls.values():
        if call["output"] is None and call["error"] is None:
            call["error"] = open_error
    return list(calls.values())
