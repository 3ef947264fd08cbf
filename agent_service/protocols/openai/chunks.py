"""A chat turn's events as OpenAI `chat.completion.chunk` objects, and those
chunks folded into one `chat.completion`.

Standard fields carry what a standard client understands: the answer in
`delta.content`, the tool calls a model asks the *client* to run (the
client's `tools` on a plain chat) in `delta.tool_calls`, each whole in one
delta, with `finish_reason: "tool_calls"`; `finish_reason`, `usage`.
Extensions, which such clients ignore:
- every chunk: `conversation_id`, `message_id` (the answer's, for feedback)
  and `seq`, the number of the event it renders: every event renders at
  least one chunk (an empty `delta` when it has nothing to say in OpenAI's
  terms), so `seq` runs 0..n with no gaps, and a stream resumes after any
  `seq` it has seen (`GET /v1/chat/completions/{id}?stream=true&after=N`);
- first chunk of a knowledge-base answer: `sources` (numbered as cited);
- agent turns: `server_tool_call` ({id, name, arguments}) on the chunk of
  each call the service's own agent makes, `tool_approval` ({id, status:
  "pending"}) on the chunk after a call that waits for a person's approval,
  `tool_result` ({id, output, is_error, elapsed_ms}) on the chunk after each
  call, and the agent's own reasoning (text ReAct steps, GLM3 tool turns) in
  `delta.reasoning_content`. The service ran those tools: they are never
  standard `tool_calls` (a client would try to run them), and the finish
  reason stays `stop` (or `length`). An agent that calls the *client's*
  tools sends those as standard `tool_calls` and ends the completion with
  `finish_reason: "tool_calls"` (`requires_action`); the client's next
  request, with the results as `tool` messages, continues the same answer;
- a failed stream: a chunk with OpenAI's `error` object, then `[DONE]`;
- an interrupted answer: `status` and `reason` on its finishing chunk.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from agent_service.agents.answer_marks import AnswerMarks, Part
from agent_service.streaming.events import (
    DocsEvent,
    DoneEvent,
    ErrorEvent,
    FinalAnswerEvent,
    MetadataEvent,
    RequiresActionEvent,
    StreamEvent,
    TokenEvent,
    ToolApprovalEvent,
    ToolCallEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)

# Our finish reasons in OpenAI's words; an agent out of steps ran out of length.
FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "max_iterations": "length",
    "error": "stop",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
}


def openai_usage(usage: dict[str, Any] | None) -> dict[str, Any] | None:
    if not usage:
        return None
    result = {
        "prompt_tokens": int(usage.get("input_tokens", 0)),
        "completion_tokens": int(usage.get("output_tokens", 0)),
        "total_tokens": int(usage.get("total_tokens", 0)),
    }
    return {**result, "estimated": True} if usage.get("estimated") else result


# An agent's text as OpenAI's delta fields carry it.
DELTA_FIELDS = {"answer": "content", "reasoning": "reasoning_content"}


class ChunkStream:
    """Builds the chunks of one completion from its events."""

    def __init__(
        self,
        *,
        model: str,
        conversation_id: str,
        message_id: str,
        sources: list[dict[str, Any]] | None = None,
        include_usage: bool = False,
        created: int | None = None,
    ) -> None:
        self.base = {
            "id": f"chatcmpl-{message_id}",
            "object": "chat.completion.chunk",
            "created": created or int(time.time()),
            "model": model,
            "system_fingerprint": None,
        }
        self.ids = {"conversation_id": conversation_id, "message_id": message_id}
        self.sources = sources
        self.include_usage = include_usage
        self.agent = False  # the metadata event says
        self.marks = AnswerMarks(None)

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None, **extensions: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**self.base, "choices": [choice], **self.ids, **extensions}

    def _text(self, pieces: list[tuple[Part, str]]) -> list[dict[str, Any]]:
        return [self.chunk({DELTA_FIELDS[part]: text}) for part, text in pieces if text]

    def first(self) -> dict[str, Any]:
        extensions = {"sources": self.sources} if self.sources is not None else {}
        return self.chunk({"role": "assistant", "content": ""}, **extensions)

    def translate(self, event: StreamEvent) -> list[dict[str, Any]]:
        """The chunks of one event, each carrying its `seq`; at least one."""
        chunks = self._translate(event) or [self.chunk({})]
        for chunk in chunks:
            chunk["seq"] = event.seq
        return chunks

    def _translate(self, event: StreamEvent) -> list[dict[str, Any]]:
        if isinstance(event, MetadataEvent):
            self.agent = event.agent_style is not None
            self.marks = AnswerMarks(event.agent_style)
            return [self.first()]
        if isinstance(event, DocsEvent) and self.sources is None:
            self.sources = event.sources  # a replay: the sources come with their own event
            return [self.chunk({}, sources=event.sources)]
        if isinstance(event, TokenEvent):
            if not self.agent:
                return [self.chunk({"content": event.text})]
            return self._text(self.marks.feed(event.text, event.step))
        if isinstance(event, ToolStartEvent):
            arguments = event.input if isinstance(event.input, str) else json.dumps(event.input, ensure_ascii=False)
            call = {"id": event.run_id, "name": event.tool, "arguments": arguments}
            return [*self._text(self.marks.flush()), self.chunk({}, server_tool_call=call)]
        if isinstance(event, ToolCallEvent):
            function = {"name": event.name, "arguments": event.arguments}
            return [
                self.chunk(
                    {"tool_calls": [{"index": event.index, "id": event.id, "type": "function", "function": function}]}
                )
            ]
        if isinstance(event, RequiresActionEvent):
            # The client's tools were called: this completion ends; the results resume the answer.
            return [*self._text(self.marks.flush()), self.chunk({}, "tool_calls")]
        if isinstance(event, ToolApprovalEvent):
            return [self.chunk({}, tool_approval={"id": event.run_id, "status": "pending"})]
        if isinstance(event, ToolEndEvent | ToolErrorEvent):
            failed = isinstance(event, ToolErrorEvent)
            result = {
                "id": event.run_id,
                "output": event.error if failed else event.output,
                "is_error": failed,
                "elapsed_ms": event.elapsed_ms,
            }
            return [self.chunk({}, tool_result=result)]
        if isinstance(event, FinalAnswerEvent):
            return self._text(self.marks.finish(event.text))
        if isinstance(event, ErrorEvent):
            error = {"message": event.message, "type": "server_error", "param": None, "code": "upstream_error"}
            return [{"error": error, **self.ids}]
        if isinstance(event, DoneEvent):
            interrupted = {"status": event.status, "reason": event.reason} if event.status == "interrupted" else {}
            chunks = [self.chunk({}, FINISH_REASONS.get(event.finish_reason or "stop", "stop"), **interrupted)]
            if self.include_usage:
                chunks.append({**self.base, "choices": [], "usage": openai_usage(event.usage), **self.ids})
            return chunks
        return []  # docs: already in the first chunk

    async def chunks(self, events: AsyncIterator[StreamEvent], after: int = -1) -> AsyncIterator[dict[str, Any]]:
        """The chunks of the events after `after`. Earlier events are rendered all the
        same, unsent: what a ReAct step holds back depends on the tokens before it."""
        async with aclosing(events):  # a client gone closes the events' stream
            async for event in events:
                chunks = self.translate(event)
                if event.seq > after:
                    for chunk in chunks:
                        yield chunk


def fold(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """A whole `chat.completion` from its chunks (`stream: false`), extensions kept on the message."""
    first = chunks[0]
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    reasoning, calls, server_calls, results = "", [], [], []
    finish_reason, usage, interrupted = "stop", None, {}
    for chunk in chunks:
        if "tool_result" in chunk:
            results.append(chunk["tool_result"])
        if "server_tool_call" in chunk:
            server_calls.append(chunk["server_tool_call"])
        if "reason" in chunk:
            interrupted = {"status": chunk["status"], "reason": chunk["reason"]}
        if "usage" in chunk:
            usage = chunk["usage"]
        for choice in chunk.get("choices", []):
            delta = choice["delta"]
            message["content"] += delta.get("content") or ""
            reasoning += delta.get("reasoning_content") or ""
            calls += [{key: call[key] for key in ("id", "type", "function")} for call in delta.get("tool_calls", [])]
            finish_reason = choice["finish_reason"] or finish_reason
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = calls
    if server_calls:
        message["server_tool_calls"], message["tool_results"] = server_calls, results
    if sources := next((chunk["sources"] for chunk in chunks if "sources" in chunk), None):
        message["sources"] = sources
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
    return {
        **{key: first[key] for key in ("id", "created", "model", "system_fingerprint")},
        "object": "chat.completion",
        "choices": [choice],
        "usage": usage,
        "conversation_id": first["conversation_id"],
        "message_id": first["message_id"],
        **interrupted,
    }
