"""`/chat/agent_chat`: the agent, its tool calls streamed as they happen."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agent_service.api.chat_responses import answer_text, chatchat_response
from agent_service.api.deps import CallerDep, ServicesDep
from agent_service.protocols.chatchat.requests import AgentChatRequest
from agent_service.runs.start import start_agent_chat
from agent_service.streaming.events import FinalAnswerEvent, StreamEvent, ToolEndEvent, ToolErrorEvent

router = APIRouter(tags=["agent"])


@router.post("/chat/agent_chat")
async def agent_chat(body: AgentChatRequest, services: ServicesDep, caller: CallerDep):
    """Chat with the agent: it calls tools, and every step streams to the client."""
    run = await start_agent_chat(services, body, caller=caller)
    return await chatchat_response(run, route="agent_chat", stream=body.stream, fields=_answer_and_tools)


def _answer_and_tools(events: list[StreamEvent]) -> dict[str, Any]:
    return {
        "answer": answer_text(events),
        "final_answer": next((e.text for e in events if isinstance(e, FinalAnswerEvent)), ""),
        "tools": [
            {
                "tool": e.tool,
                "run_id": e.run_id,
                "status": "error" if isinstance(e, ToolErrorEvent) else "ok",
                "output": getattr(e, "output", None),
                "error": getattr(e, "error", None),
            }
            for e in events
            if isinstance(e, ToolEndEvent | ToolErrorEvent)
        ],
    }
