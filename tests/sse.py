"""Reading SSE streams the way Chatchat 0.2 clients do: one `data: ` frame per event."""

from __future__ import annotations

import json
from typing import Any

import httpx


def parse_frames(body: str) -> list[dict[str, Any]]:
    """Every event in an SSE body; fails on any frame that is not data-only JSON."""
    events = []
    for frame in body.split("\r\n\r\n"):
        if not frame or frame.startswith(":"):
            continue
        assert frame.startswith("data: "), f"not a data-only frame: {frame!r}"
        assert "\n" not in frame, f"a frame spans lines: {frame!r}"
        events.append(json.loads(frame[len("data: ") :]))
    return events


def types(events: list[dict[str, Any]]) -> list[str]:
    """Event types with runs of tokens collapsed, e.g. ['metadata', 'token', 'done']."""
    collapsed: list[str] = []
    for event in events:
        if not (collapsed and collapsed[-1] == event["type"] == "token"):
            collapsed.append(event["type"])
    return collapsed


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(e["text"] for e in events if e["type"] == "token")


def hang_up_at(base_url: str, path: str, body: dict[str, Any], marker: str) -> None:
    """Stream `path` and close the connection at the first line holding `marker`: a client going away."""
    with httpx.Client(base_url=base_url, timeout=10) as http, http.stream("POST", path, json=body) as response:
        for line in response.iter_lines():
            if marker in line:
                return
