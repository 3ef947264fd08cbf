"""A fake upstream's replies made from the request, the way a capable model would answer:
a call of the tool the question names (arguments from the question and the tool's schema),
an answer from a tool's result, JSON of the schema asked for, or plain text.

For client test suites (langchain-tests' standard chat-model tests) run through the service
against the fake upstream (`FakeOpenAI(responder=plausible_reply)`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fake_openai import Reply

GENERIC_WORDS = {"get", "set", "do", "run", "make", "find", "the", "a", "of", "to", "tool", "function", "magic"}
JOKE = {"setup": "Why did the cat sit on the computer?", "punchline": "To keep an eye on the mouse."}


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def _value(name: str, schema: dict[str, Any], question: str) -> Any:
    """A value for one argument: what the question says, else a plausible one of the schema's type."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "integer":
        numbers = re.findall(r"-?\d+", question)
        return int(numbers[0]) if numbers else 1
    if kind == "number":
        numbers = re.findall(r"-?\d+(?:\.\d+)?", question)
        return float(numbers[0]) if numbers else 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return instance(schema, question)
    if name in JOKE:
        return JOKE[name]
    quoted = re.findall(r"[\"'“「]([^\"'”」]+)[\"'”」]", question)
    foreign = re.findall(r"[^\x00-\x7f]+", question)
    return (quoted or foreign or [question.strip().split()[-1] if question.strip() else name])[0]


def instance(schema: dict[str, Any], question: str) -> dict[str, Any]:
    """An object of the schema: every required property, and the others too."""
    properties = schema.get("properties") or {}
    definitions = schema.get("$defs") or schema.get("definitions") or {}

    def resolve(part: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in part:
            return resolve(definitions.get(part["$ref"].rsplit("/", 1)[-1], {}))
        if "anyOf" in part:  # Optional[...]: the non-null branch
            return resolve(next((p for p in part["anyOf"] if p.get("type") != "null"), part["anyOf"][0]))
        return part

    return {name: _value(name, resolve(part), question) for name, part in properties.items()}


def _chosen_tool(body: dict[str, Any], question: str) -> dict[str, Any] | None:
    tools = [tool["function"] for tool in body.get("tools") or []]
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict):
        return next((t for t in tools if t["name"] == choice["function"]["name"]), tools[0])
    named = next((t for t in tools if t["name"] in question), None)
    if named or choice == "required":
        return named or tools[0]
    # A tool whose name's words the question uses: get_weather for "the weather in Paris".
    words = set(re.findall(r"[a-z]+", question.lower()))
    topical = next((t for t in tools if set(t["name"].lower().split("_")) - GENERIC_WORDS & words), None)
    if topical:
        return topical
    if re.search(r"\b(use|call)\b.*\btool\b|\btool\b", question, re.I):
        return tools[0]
    return None


def plausible_reply(body: dict[str, Any]) -> Reply:
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    question = next((_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    if last.get("role") == "tool":
        return Reply(text=f"The result is {_text(last) or 'done'}.")
    if (tool := _chosen_tool(body, question)) is not None:
        arguments = instance(tool.get("parameters") or {}, question)
        return Reply(text="", tool_calls=[{"name": tool["name"], "arguments": arguments}])
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = response_format["json_schema"].get("schema") or {}
        return Reply(text=json.dumps(instance(schema, question), ensure_ascii=False))
    if response_format.get("type") == "json_object":
        return Reply(text=json.dumps(JOKE))
    return Reply(text="Hello! I am a helpful assistant, here to answer your question.")
