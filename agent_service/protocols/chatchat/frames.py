"""The Chatchat 0.2 dialect: the canonical events with the keys that
Langchain-Chatchat 0.2 clients read, only on the Chatchat chat routes.

- `/chat/chat`: tokens already carry `text`;
- `/chat/agent_chat`: `answer` on tokens, `tools` (the client's trace lines)
  on each finished tool call, `final_answer` at the end;
- `/chat/knowledge_base_chat`: `answer` on tokens, `docs` (source strings)
  on the `docs` event and again on the last one, `done`, where the client
  reads them;
- errors: `code` (500) and `msg`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from sse_starlette import ServerSentEvent

from agent_service.streaming.events import (
    DocsEvent,
    DoneEvent,
    ErrorEvent,
    FinalAnswerEvent,
    StreamEvent,
    TokenEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
    to_sse,
)

ChatchatRoute = Literal["llm_chat", "agent_chat", "knowledge_base_chat"]


def chatchat_lines(tool: str, tool_input: Any, *, output: str | None = None, error: str | None = None) -> list[str]:
    """The trace lines Chatchat 0.2's agent client shows for a tool call."""
    if error is None:
        middle = ["工具状态: 调用成功", f"工具输入: {tool_input}", f"工具输出: {output}"]
    else:
        middle = ["工具状态: 调用失败", f"错误信息: {error}", "重新开始尝试"]
    return ["\n```\n", f"工具名称: {tool}", *middle, "\n```\n"]


class ChatchatDialect:
    """Renders one answer's events for one Chatchat route; `docs` are the
    knowledge-base answer's sources as Chatchat's strings."""

    def __init__(self, route: ChatchatRoute, docs: list[str] | None = None) -> None:
        self.route = route
        self.docs = docs or []
        self.tool_inputs: dict[str, Any] = {}

    def extra_keys(self, event: StreamEvent) -> dict[str, Any] | None:
        match event:
            case TokenEvent(text=text):
                return None if self.route == "llm_chat" else {"answer": text}
            case ToolStartEvent(run_id=run_id, input=tool_input):
                self.tool_inputs[run_id] = tool_input
                return None
            case ToolEndEvent(run_id=run_id, tool=tool, output=output):
                return {"tools": chatchat_lines(tool, self.tool_inputs.get(run_id, ""), output=output)}
            case ToolErrorEvent(run_id=run_id, tool=tool, error=error):
                return {"tools": chatchat_lines(tool, self.tool_inputs.get(run_id, ""), error=error)}
            case FinalAnswerEvent(text=text):
                return {"final_answer": text}
            case ErrorEvent(message=message):
                return {"code": 500, "msg": message}
            case DocsEvent() | DoneEvent() if self.route == "knowledge_base_chat":
                return {"docs": self.docs}
            case _:
                return None

    def encode(self, event: StreamEvent) -> ServerSentEvent:
        extra = self.extra_keys(event)
        if not extra:
            return to_sse(event)
        data = event.model_dump(mode="json", exclude_none=True) | extra
        return ServerSentEvent(data=json.dumps(data, ensure_ascii=False, separators=(",", ":")))
