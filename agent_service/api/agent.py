"""`/chat/agent_chat`: the agent, its tool calls streamed as they happen."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from agent_service.api.deps import OwnerDep, ServicesDep
from agent_service.api.errors import error_body
from agent_service.api.runs import start_agent_chat
from agent_service.api.schemas import AgentChatRequest
from agent_service.streaming.events import (
    DoneEvent,
    ErrorEvent,
    FinalAnswerEvent,
    TokenEvent,
    ToolEndEvent,
    ToolErrorEvent,
)
from agent_service.streaming.responses import collect, sse_response

router = APIRouter(tags=["agent"])


@router.post("/chat/agent_chat")
async def agent_chat(body: AgentChatRequest, services: ServicesDep, owner: OwnerDep):
    """Chat with the agent: it calls tools, and every step streams to the client."""
    run = await start_agent_chat(services, body, owner=owner)
    if body.stream:
        return sse_response(run.events)

    collected = await collect(run.events)
    final = next((e.final_answer for e in collected if isinstance(e, FinalAnswerEvent)), "")
    done = next(e for e in collected if isinstance(e, DoneEvent))
    answer = {
        **run.turn.ids,
        "answer": "".join(e.text for e in collected if isinstance(e, TokenEvent)),
        "final_answer": final,
        "tools": [
            {
                "tool": e.tool,
                "run_id": e.run_id,
                "status": "error" if isinstance(e, ToolErrorEvent) else "ok",
                "output": getattr(e, "output", None),
                "error": getattr(e, "error", None),
            }
            for e in collected
            if isinstance(e, ToolEndEvent | ToolErrorEvent)
        ],
        "status": done.status,
        "finish_reason": done.finish_reason,
        "usage": done.usage,
    }
    if error := next((e for e in collected if isinstance(e, ErrorEvent)), None):
        return JSONResponse(error_body(502, error.message, **answer), status_code=502)
    return answer
