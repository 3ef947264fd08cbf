"""The events a chat stream sends, and how each becomes an SSE frame.

Wire protocol (all chat routes):
- SSE, one data-only frame per event, `data: <JSON on one line>\\r\\n\\r\\n`,
  written as its own chunk; no `event:` or `id:` lines, because
  Langchain-Chatchat 0.2 clients drop frames that do not start with `data: `.
  Keep-alive pings are comments, `: ping - <time>`, also their own chunk.
- The JSON names its kind in `type`: metadata, token, tool_start, tool_end,
  tool_error, docs, final_answer, error, done. Every event carries
  `conversation_id` and `message_id`; a stream starts with `metadata` and
  ends with `done`, an `error` event coming before `done` when one happens.
- Chatchat 0.2 clients read extra keys, carried alongside: `text` on
  `/chat/chat` tokens; `answer`, `tools` and `final_answer` on
  `/chat/agent_chat`; `answer` and `docs` on `/chat/knowledge_base_chat`;
  `code` (500) and `msg` on errors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from sse_starlette import ServerSentEvent


class StreamEvent(BaseModel):
    conversation_id: str
    message_id: str


class MetadataEvent(StreamEvent):
    type: Literal["metadata"] = "metadata"
    model: str
    user_message_id: str | None = None


class TokenEvent(StreamEvent):
    type: Literal["token"] = "token"
    text: str
    answer: str | None = None  # Chatchat agent and knowledge-base clients read this
    step: int | None = None


class ToolStartEvent(StreamEvent):
    type: Literal["tool_start"] = "tool_start"
    run_id: str
    tool: str
    input: Any
    step: int | None = None


class ToolEndEvent(StreamEvent):
    type: Literal["tool_end"] = "tool_end"
    run_id: str
    tool: str
    output: str
    elapsed_ms: float
    tools: list[str] = []  # Chatchat's trace lines


class ToolErrorEvent(StreamEvent):
    type: Literal["tool_error"] = "tool_error"
    run_id: str
    tool: str
    error: str
    elapsed_ms: float | None = None
    tools: list[str] = []


class DocsEvent(StreamEvent):
    type: Literal["docs"] = "docs"
    sources: list[dict[str, Any]]
    docs: list[str]  # Chatchat's rendered source strings


class FinalAnswerEvent(StreamEvent):
    type: Literal["final_answer"] = "final_answer"
    text: str
    final_answer: str


class ErrorEvent(StreamEvent):
    type: Literal["error"] = "error"
    message: str
    code: int = 500
    msg: str = ""


class DoneEvent(StreamEvent):
    type: Literal["done"] = "done"
    finish_reason: str | None = None
    status: str = "complete"
    usage: dict[str, Any] | None = None
    docs: list[str] | None = None  # repeated for Chatchat's knowledge-base client


Event = Annotated[
    MetadataEvent
    | TokenEvent
    | ToolStartEvent
    | ToolEndEvent
    | ToolErrorEvent
    | DocsEvent
    | FinalAnswerEvent
    | ErrorEvent
    | DoneEvent,
    Field(discriminator="type"),
]


def error_event(*, conversation_id: str, message_id: str, message: str) -> ErrorEvent:
    return ErrorEvent(conversation_id=conversation_id, message_id=message_id, message=message, msg=message)


def to_sse(event: BaseModel) -> ServerSentEvent:
    return ServerSentEvent(data=event.model_dump_json(exclude_none=True))
