"""OpenAI's Responses API (`POST /v1/responses`): the request, read as a chat completion's,
and an answer's events rendered as the Responses stream and folded into a `response` object.

`input` (a string, or items: messages, `function_call`, `function_call_output`),
`instructions`, the client's function `tools`, `tool_choice`, `text.format` and the sampling
fields become the chat-completion request the service already runs (`as_chat_completion`).
The stream carries OpenAI's event names, each with a `sequence_number`: `response.created`,
`response.in_progress`, `response.output_item.added`, `response.content_part.added`,
`response.output_text.delta`/`.done`, `response.content_part.done`,
`response.function_call_arguments.delta`/`.done`, `response.output_item.done`, then
`response.completed`, `response.incomplete` or `response.failed`. A response's id is
`resp_<message_id>`; `conversation_id` and `message_id` ride on it as extensions.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_service.agents.answer_marks import AnswerMarks, Part
from agent_service.db.responses import Link
from agent_service.protocols.openai.chunks import openai_usage
from agent_service.protocols.openai.requests import ChatCompletionRequest, ChatMode, UnsupportedField
from agent_service.streaming.events import (
    DoneEvent,
    ErrorEvent,
    FinalAnswerEvent,
    MetadataEvent,
    RequiresActionEvent,
    StreamEvent,
    TokenEvent,
    ToolCallEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)


class FunctionTool(BaseModel):
    type: Literal["function"] = "function"
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class TextFormat(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None

    def openai(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class Reasoning(BaseModel):
    effort: Literal["minimal", "low", "medium", "high"] | None = None
    summary: str | None = None


class TextOptions(BaseModel):
    format: TextFormat | None = None


class ResponseRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]] = Field(description="A string, or items: messages, function calls and outputs.")
    instructions: str | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    stream: bool = False
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    text: TextOptions | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    previous_response_id: str | None = Field(
        None, pattern=r"^resp_[A-Za-z0-9_-]{1,64}$", description="Continue from this response: its input and output."
    )
    background: bool | None = Field(
        None, description="Return at once (`queued`); the response runs to its end without a client."
    )
    reasoning: Reasoning | None = Field(None, description="`effort` goes to the model as `reasoning_effort`.")
    truncation: Literal["auto", "disabled"] | None = Field(
        None, description="Accepted: a conversation longer than the model's window always loses its oldest turns."
    )
    include: list[str] | None = Field(None, description="Accepted, except logprobs, which the service has none of.")
    service_tier: str | None = Field(None, description="Accepted; no effect.")
    prompt_cache_key: str | None = Field(None, description="Accepted; no effect.")
    safety_identifier: str | None = Field(None, description="Accepted; no effect.")
    stream_options: dict[str, Any] | None = Field(None, description="Accepted; no effect.")
    # OpenAI fields the service cannot honour: a 400 that names them (_refuse_unsupported).
    top_logprobs: int | None = None
    max_tool_calls: int | None = None
    prompt: dict[str, Any] | None = None
    conversation: str | dict[str, Any] | None = None
    conversation_id: str | None = Field(None, description="Continue this stored conversation (extension).")
    chat_mode: ChatMode = Field("chat_normal", description="As on chat completions (extension).")
    chat_param: str | list[str] | None = Field(
        None, description="As on chat completions (extension): the knowledge base, or the service's tools."
    )

    @model_validator(mode="after")
    def _refuse_unsupported(self) -> ResponseRequest:
        refused = {
            "top_logprobs": (self.top_logprobs or 0) > 0,
            "max_tool_calls": self.max_tool_calls is not None,
            "prompt": self.prompt is not None,
        }
        if field := next((name for name, wanted in refused.items() if wanted), None):
            raise UnsupportedField(field)
        if "message.output_text.logprobs" in (self.include or []):
            raise UnsupportedField("include", "include: message.output_text.logprobs is not supported (no logprobs)")
        if self.conversation is not None:
            raise UnsupportedField(
                "conversation",
                "conversation objects are not supported: continue with previous_response_id, "
                "or name a stored conversation with conversation_id",
            )
        return self

    def input_items(self) -> list[dict[str, Any]]:
        """The input as OpenAI lists it (`input_items`): items, a message's content as parts."""
        items = [{"role": "user", "content": self.input}] if isinstance(self.input, str) else self.input
        return [_as_item(item) for item in items]

    def as_chat_completion(
        self,
        before: list[dict[str, Any]] | None = None,
        *,
        conversation_id: str | None = None,
        server_tools: frozenset[str] = frozenset(),
    ) -> ChatCompletionRequest:
        """The same request in chat-completion terms, which the service runs: `before` are the
        chat messages of the responses it continues. In chat_agent, a function tool named like
        one of the service's (`server_tools`) asks for that tool, run on the server."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.instructions}] if self.instructions else []
        messages += before or []
        messages += chat_messages(self.input_items())
        fields: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_completion_tokens": self.max_output_tokens,
            "tool_choice": self._tool_choice(),
            "parallel_tool_calls": self.parallel_tool_calls,
            "store": self.store,
            "user": self.user,
            "reasoning_effort": self.reasoning.effort if self.reasoning else None,
            "conversation_id": conversation_id or self.conversation_id,
            "chat_mode": self.chat_mode,
            "chat_param": self.chat_param,
        }
        client_tools = self.tools or []
        if self.chat_mode == "chat_agent" and (named := [t.name for t in client_tools if t.name in server_tools]):
            given = [self.chat_param] if isinstance(self.chat_param, str) else self.chat_param or []
            fields["chat_param"] = [*given, *named]
            client_tools = [tool for tool in client_tools if tool.name not in server_tools]
        if client_tools:
            fields["tools"] = [
                {"type": "function", "function": tool.model_dump(exclude={"type"}, exclude_none=True)}
                for tool in client_tools
            ]
        if self.text and self.text.format and self.text.format.type != "text":
            found = self.text.format
            response_format: dict[str, Any] = {"type": found.type}
            if found.type == "json_schema":
                response_format["json_schema"] = {"name": found.name or "output", "schema": found.schema_ or {}}
                if found.strict is not None:
                    response_format["json_schema"]["strict"] = found.strict
            fields["response_format"] = response_format
        # A pydantic ValidationError names chat-completion fields: the route names them back.
        return ChatCompletionRequest.model_validate({k: v for k, v in fields.items() if v is not None})

    def settings(self) -> dict[str, Any]:
        """What a response object repeats of its request (OpenAI's fields; kept with the question)."""
        return {
            "instructions": self.instructions,
            "tools": [tool.model_dump(exclude_none=True) for tool in self.tools or []],
            "tool_choice": self.tool_choice or "auto",
            "parallel_tool_calls": True if self.parallel_tool_calls is None else self.parallel_tool_calls,
            "text": {"format": (self.text.format if self.text and self.text.format else TextFormat()).openai()},
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_output_tokens": self.max_output_tokens,
            "metadata": self.metadata or {},
            "store": True if self.store is None else self.store,
            "user": self.user,
            "background": bool(self.background),
            "previous_response_id": self.previous_response_id,
            "reasoning": {"effort": self.reasoning.effort if self.reasoning else None, "summary": None},
            "truncation": self.truncation or "disabled",
        }

    def _tool_choice(self) -> Any:
        if isinstance(self.tool_choice, dict) and self.tool_choice.get("type") == "function":
            return {"type": "function", "function": {"name": self.tool_choice.get("name", "")}}
        return self.tool_choice


def _as_item(item: dict[str, Any]) -> dict[str, Any]:
    if item.get("type", "message") != "message":
        return item
    content = item.get("content")
    if isinstance(content, str):
        kind = "output_text" if item.get("role") == "assistant" else "input_text"
        content = [{"type": kind, "text": content}]
    return {**item, "type": "message", "content": content}


def chat_messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Input items as chat messages: a turn's function calls go in one assistant message."""
    messages: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "function_call":
            call = {"id": item.get("call_id", ""), "type": "function"}
            call["function"] = {"name": item.get("name", ""), "arguments": item.get("arguments", "{}")}
            if messages and messages[-1]["role"] == "assistant" and messages[-1].get("tool_calls"):
                messages[-1]["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output", "")
            messages.append({"role": "tool", "tool_call_id": item.get("call_id", ""), "content": _text(output)})
        elif kind == "message":
            messages.append({"role": item.get("role", "user"), "content": _text(item.get("content"))})
        elif kind == "mcp_call" and item.get("server_label") == SERVER_LABEL:
            continue  # a tool the service ran, sent back by a client that keeps whole outputs
        else:
            raise UnsupportedField("input", f"input items of type {kind!r} are not supported")
    return messages


def chain_messages(chain: list[Link]) -> list[dict[str, Any]]:
    """The chat messages of responses a request continues (`previous_response_id`), oldest
    first: each one's input, then what it answered (text, function calls)."""
    messages: list[dict[str, Any]] = []
    for link in chain:
        messages += chat_messages(link.input)
        if link.content or link.tool_calls:
            answer: dict[str, Any] = {"role": "assistant", "content": link.content or None}
            if link.tool_calls:
                answer["tool_calls"] = link.tool_calls
            messages.append(answer)
    return messages


def _text(content: Any) -> str:
    """A message's content as text: a string, or parts (`input_text`, `output_text`, `text`)."""
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


CANCELLED = ("cancelled", "stopped")  # an interrupted answer's reasons that a person asked for
SERVER_LABEL = "agent-service"  # the `server_label` of the service's own tool calls (`mcp_call` items)


class ResponseStream:
    """Builds the Responses stream events of one answer from its events, and the final response."""

    def __init__(
        self,
        *,
        model: str,
        conversation_id: str,
        message_id: str,
        created: int | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """`settings`: what the response repeats of its request (`ResponseRequest.settings`)."""
        self.ids = {"conversation_id": conversation_id, "message_id": message_id}
        self.response: dict[str, Any] = {
            "id": f"resp_{message_id}",
            "object": "response",
            "created_at": created or int(time.time()),
            "status": "queued" if settings and settings.get("background") else "in_progress",
            "model": model,
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "error": None,
            "incomplete_details": None,
            "usage": None,
            **(settings or {}),
            **self.ids,
        }
        self.sequence = 0
        self.text = ""
        self.message: dict[str, Any] | None = None  # the message item being written
        self.marks = AnswerMarks(None)  # an agent's reasoning apart from its answer
        self.agent = False
        self.started = False
        self.server_calls: dict[str, dict[str, Any]] = {}  # the service's tool calls, by run id

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    def _snapshot(self) -> dict[str, Any]:
        return {**self.response, "output": [dict(item) for item in self.response["output"]]}

    def _add(self, item: dict[str, Any]) -> int:
        self.response["output"].append(item)
        return len(self.response["output"]) - 1

    def _open_message(self) -> list[dict[str, Any]]:
        index = len(self.response["output"])
        self.message = {
            "id": f"msg_{self.ids['message_id']}_{index}",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        self._add(self.message)
        self.text = ""
        part = {"type": "output_text", "text": "", "annotations": []}
        return [
            self._event("response.output_item.added", output_index=index, item=dict(self.message)),
            self._event(
                "response.content_part.added",
                output_index=index,
                item_id=self.message["id"],
                content_index=0,
                part=part,
            ),
        ]

    def _close_message(self) -> list[dict[str, Any]]:
        if self.message is None:
            return []
        message, self.message = self.message, None
        index = self.response["output"].index(message)
        part = {"type": "output_text", "text": self.text, "annotations": []}
        message.update(status="completed", content=[part])
        where = {"output_index": index, "item_id": message["id"], "content_index": 0}
        return [
            self._event("response.output_text.done", **where, text=self.text, logprobs=[]),
            self._event("response.content_part.done", **where, part=part),
            self._event("response.output_item.done", output_index=index, item=dict(message)),
        ]

    def _write(self, text: str) -> list[dict[str, Any]]:
        if not text:
            return []
        out = self._open_message() if self.message is None else []
        self.text += text
        where = {"output_index": len(self.response["output"]) - 1, "item_id": self.message["id"]}  # type: ignore[index]
        return [*out, self._event("response.output_text.delta", **where, content_index=0, delta=text, logprobs=[])]

    def _answer(self, pieces: list[tuple[Part, str]]) -> list[dict[str, Any]]:
        """An agent's text: its answer is output text; its reasoning is not output."""
        return [rendered for part, text in pieces if part == "answer" for rendered in self._write(text)]

    def _start(self) -> list[dict[str, Any]]:
        # No `response.queued`: a replay renders the same events, numbered the same.
        if self.started:
            return []
        self.started = True
        created = self._event("response.created", response=self._snapshot())
        self.response["status"] = "in_progress"
        return [created, self._event("response.in_progress", response=self._snapshot())]

    def absorb(self, event: StreamEvent) -> None:
        """An event the client has had already (`events(after=...)`): what later ones depend on."""
        if isinstance(event, MetadataEvent):
            self.agent = event.agent_style is not None
            self.marks = AnswerMarks(event.agent_style)
        elif isinstance(event, TokenEvent) and self.agent:
            self.marks.feed(event.text, event.step)
        elif isinstance(event, ToolStartEvent | ToolCallEvent):
            self.marks.flush()

    def translate(self, event: StreamEvent) -> list[dict[str, Any]]:
        if isinstance(event, MetadataEvent):
            self.absorb(event)
            return self._start()
        out = self._start()  # a continuation starts after its metadata
        if isinstance(event, TokenEvent):
            text = event.text
            return out + (self._answer(self.marks.feed(text, event.step)) if self.agent else self._write(text))
        if isinstance(event, FinalAnswerEvent):
            if self.agent:
                return out + self._answer(self.marks.finish(event.text))
            return out + self._write(_unsent(self.text, event.text))
        if isinstance(event, ToolStartEvent):
            # The service runs this tool: an `mcp_call` item, which clients record and do not run.
            self.marks.flush()
            out += self._close_message()
            arguments = event.input if isinstance(event.input, str) else json.dumps(event.input, ensure_ascii=False)
            item = {
                "id": f"mcp_{event.run_id}",
                "type": "mcp_call",
                "status": "in_progress",
                "server_label": SERVER_LABEL,
                "name": event.tool,
                "arguments": arguments,
                "output": None,
                "error": None,
            }
            self.server_calls[event.run_id] = item
            index = self._add(item)
            return [*out, self._event("response.output_item.added", output_index=index, item=dict(item))]
        if isinstance(event, ToolEndEvent | ToolErrorEvent):
            item = self.server_calls.pop(event.run_id, None)
            if item is None:  # the client's tool: its result came with the client's request
                return out
            failed = isinstance(event, ToolErrorEvent)
            item.update(status="failed" if failed else "completed")
            item.update({"error": event.error} if failed else {"output": event.output})
            index = self.response["output"].index(item)
            return [*out, self._event("response.output_item.done", output_index=index, item=dict(item))]
        if isinstance(event, ToolCallEvent):
            self.marks.flush()
            out += self._close_message()
            item = {
                "id": f"fc_{event.id}",
                "type": "function_call",
                "status": "completed",
                "call_id": event.id,
                "name": event.name,
                "arguments": event.arguments,
            }
            index = self._add(item)
            where = {"output_index": index, "item_id": item["id"]}
            return [
                *out,
                self._event("response.output_item.added", output_index=index, item={**item, "arguments": ""}),
                self._event("response.function_call_arguments.delta", **where, delta=event.arguments),
                self._event("response.function_call_arguments.done", **where, arguments=event.arguments),
                self._event("response.output_item.done", output_index=index, item=item),
            ]
        if isinstance(event, RequiresActionEvent):
            # The client's tools were called: this response is complete; their results continue the answer.
            out += self._close_message()
            self.response["status"] = "completed"
            return [*out, self._event("response.completed", response=self._snapshot())]
        if isinstance(event, ErrorEvent):
            self.response["error"] = {"code": "server_error", "message": event.message}
            return out
        if isinstance(event, DoneEvent):
            out += self._answer(self.marks.flush()) if self.agent else []
            out += self._close_message()
            usage = openai_usage(event.usage)
            if usage is not None:
                self.response["usage"] = {
                    "input_tokens": usage["prompt_tokens"],
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": usage["completion_tokens"],
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": usage["total_tokens"],
                }
            if self.response["error"] is not None or event.status == "error":
                self.response["status"], kind = "failed", "response.failed"
            elif event.status == "interrupted" and event.reason in CANCELLED:
                # OpenAI's stream has no event of its own for a cancelled response.
                self.response["status"], kind = "cancelled", "response.incomplete"
            elif event.status in ("partial", "interrupted"):
                reason = "max_output_tokens" if event.status == "partial" else (event.reason or "interrupted")
                self.response["status"], kind = "incomplete", "response.incomplete"
                self.response["incomplete_details"] = {"reason": reason}
            else:
                self.response["status"], kind = "completed", "response.completed"
            return [*out, self._event(kind, response=self._snapshot())]
        return out  # docs, approvals: not Responses items

    async def batches(self, events: AsyncIterator[StreamEvent], after: int = -1) -> AsyncIterator[list[dict[str, Any]]]:
        """The Responses events of each of `events` after the event `after` (a continuation:
        the client has had the earlier ones, which still set what the later ones depend on)."""
        async with aclosing(events):
            async for event in events:
                if event.seq <= after:
                    self.absorb(event)
                    continue
                if rendered := self.translate(event):
                    yield rendered

    async def events(self, events: AsyncIterator[StreamEvent], after: int = -1) -> AsyncIterator[dict[str, Any]]:
        """`batches`, one Responses event at a time."""
        async with aclosing(self.batches(events, after)) as batches:
            async for batch in batches:
                for rendered in batch:
                    yield rendered


def _unsent(sent: str, final: str) -> str:
    """The final answer's text not streamed already (an agent's answer may come whole at the end)."""
    return "" if sent.strip().endswith(final.strip()) else final
