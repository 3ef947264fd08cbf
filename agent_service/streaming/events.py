"""The canonical events of an answer, and the native SSE frame of each.

A run produces these events and stores them; each protocol renders them at
the edge (`protocols.chatchat.frames`, `protocols.openai.chunks`), and the native
protocol (`GET /chat/messages/{id}/events`, the web page) sends them as they are.

Wire protocol (all chat routes):
- SSE, one data-only frame per event, `data: <JSON on one line>\\r\\n\\r\\n`,
  written as its own chunk; no `event:` or `id:` lines, because
  Langchain-Chatchat 0.2 clients drop frames that do not start with `data: `.
  Keep-alive pings are comments, `: ping - <time>`, also their own chunk.
- The JSON names its kind in `type` and its place in `seq`: 0 for
  `metadata`, +1 per event. Kinds: metadata, token, tool_start,
  tool_approval, tool_end, tool_error, tool_call, docs, final_answer, error, done. Every event carries
  `conversation_id` and `message_id`; a stream starts with `metadata` and
  ends with `done` (`status`, and `reason` for an interrupted answer), an
  `error` event coming before `done` when one happens.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter
from sse_starlette import ServerSentEvent


class StreamEvent(BaseModel):
    conversation_id: str
    message_id: str
    seq: int = -1  # numbered by the run that publishes it


class MetadataEvent(StreamEvent):
    type: Literal["metadata"] = "metadata"
    model: str
    user_message_id: str | None = None
    agent_style: str | None = None  # agent turns: tool_calling, react or glm3


class TokenEvent(StreamEvent):
    type: Literal["token"] = "token"
    text: str
    step: int | None = None  # agent turns: the model call that wrote it


class ToolStartEvent(StreamEvent):
    type: Literal["tool_start"] = "tool_start"
    run_id: str
    tool: str
    input: Any
    step: int | None = None


class ToolApprovalEvent(StreamEvent):
    """The tool call `run_id` waits for a person: approve or deny it
    (`POST /chat/messages/{message_id}/tool_calls/{run_id}/approve|deny`)."""

    type: Literal["tool_approval"] = "tool_approval"
    run_id: str
    tool: str
    input: Any


class ToolEndEvent(StreamEvent):
    type: Literal["tool_end"] = "tool_end"
    run_id: str
    tool: str
    output: str
    elapsed_ms: float


class ToolErrorEvent(StreamEvent):
    type: Literal["tool_error"] = "tool_error"
    run_id: str
    tool: str
    error: str
    elapsed_ms: float | None = None


class ToolCallEvent(StreamEvent):
    """The model asks the client to call one of the client's tools (`/v1` with `tools`); the service does not run it."""

    type: Literal["tool_call"] = "tool_call"
    index: int
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


class RequiresActionEvent(StreamEvent):
    """The agent waits for the client's results of its calls of the client's tools (the
    `tool_call` events before this one, by `id`); the answer goes on when the client
    sends them back (`/v1` chat_agent with `tools`)."""

    type: Literal["requires_action"] = "requires_action"
    tool_calls: list[str]


class DocsEvent(StreamEvent):
    type: Literal["docs"] = "docs"
    sources: list[dict[str, Any]]


class FinalAnswerEvent(StreamEvent):
    type: Literal["final_answer"] = "final_answer"
    text: str


class ErrorEvent(StreamEvent):
    type: Literal["error"] = "error"
    message: str


class DoneEvent(StreamEvent):
    type: Literal["done"] = "done"
    finish_reason: str | None = None
    status: str = "complete"
    reason: str | None = None  # interrupted: client_disconnected, stopped, server_shutdown, server_crash, model_crash
    usage: dict[str, Any] | None = None


Event = Annotated[
    MetadataEvent
    | TokenEvent
    | ToolStartEvent
    | ToolApprovalEvent
    | ToolEndEvent
    | ToolErrorEvent
    | ToolCallEvent
    | RequiresActionEvent
    | DocsEvent
    | FinalAnswerEvent
    | ErrorEvent
    | DoneEvent,
    Field(discriminator="type"),
]

event_adapter: TypeAdapter[StreamEvent] = TypeAdapter(Event)


def to_sse(event: BaseModel) -> ServerSentEvent:
    return ServerSentEvent(data=event.model_dump_json(exclude_none=True))
