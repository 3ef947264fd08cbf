"""Tool calls written as text, as small local models write them when given tools
in their chat template: Qwen's `<tool_call>{...}</tool_call>`, a fenced JSON
block, or a bare JSON object, each `{"name": ..., "arguments": {...}}`."""

from __future__ import annotations

import json
import uuid
from typing import Any

OPENINGS = ("<tool_call>", "```", "{", "[")


def could_be_tool_call(text: str) -> bool:
    """Whether an answer that starts with `text` may turn out to be a tool call (so it is held back)."""
    start = text.lstrip()
    return any(start.startswith(opening) or opening.startswith(start) for opening in OPENINGS)


def _between(text: str, opening: str, closing: str) -> list[str]:
    """Each stretch of `text` between `opening` and `closing` (or the end); linear in the text."""
    found, at = [], 0
    while (start := text.find(opening, at)) != -1:
        start += len(opening)
        end = text.find(closing, start)
        found.append(text[start : end if end != -1 else len(text)])
        if end == -1:
            break
        at = end + len(closing)
    return found


def _calls_in(blob: str, tool_names: set[str]) -> list[dict[str, Any]]:
    try:
        value = json.loads(blob.strip())
    except ValueError:
        return []
    calls = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, dict):
            return []
        if isinstance(item.get("function"), dict):  # OpenAI's own shape
            item = item["function"]
        name, args = item.get("name"), item.get("arguments", item.get("parameters", {}))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                return []
        if name not in tool_names or not isinstance(args, dict):
            return []
        calls.append({"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:24]}", "type": "tool_call"})
    return calls


def parse_tool_calls(text: str, tool_names: set[str]) -> list[dict[str, Any]]:
    """The tool calls `text` makes, or [] when it is an answer."""
    if "<tool_call>" in text:
        calls = [call for blob in _between(text, "<tool_call>", "</tool_call>") for call in _calls_in(blob, tool_names)]
        if calls:
            return calls
    if "```" in text:
        for block in _between(text, "```", "```"):
            newline = block.find("\n")
            body = block[newline + 1 :] if newline != -1 and not block[:newline].strip().startswith("{") else block
            if calls := _calls_in(body, tool_names):
                return calls
    stripped = text.strip()
    return _calls_in(stripped, tool_names) if stripped[:1] in "{[" else []
