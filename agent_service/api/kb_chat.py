"""`/chat/knowledge_base_chat`: answers from a knowledge base, with numbered sources."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from agent_service.api.deps import OwnerDep, ServicesDep
from agent_service.api.errors import error_body
from agent_service.api.runs import start_knowledge_base_chat
from agent_service.api.schemas import KnowledgeBaseChatRequest
from agent_service.streaming.events import DoneEvent, ErrorEvent, TokenEvent
from agent_service.streaming.responses import collect, sse_response

router = APIRouter(tags=["knowledge base chat"])


@router.post("/chat/knowledge_base_chat")
async def knowledge_base_chat(body: KnowledgeBaseChatRequest, request: Request, services: ServicesDep, owner: OwnerDep):
    """Search the knowledge base, then stream an answer that cites what it found."""
    run = await start_knowledge_base_chat(services, body, owner=owner, base_url=str(request.base_url))
    if body.stream:
        return sse_response(run.events)

    collected = await collect(run.events)
    done = next(e for e in collected if isinstance(e, DoneEvent))
    result = {
        **run.turn.ids,
        "answer": "".join(e.text for e in collected if isinstance(e, TokenEvent)),
        "sources": run.sources,
        "docs": run.docs,
        "status": done.status,
        "finish_reason": done.finish_reason,
        "usage": done.usage,
    }
    if error := next((e for e in collected if isinstance(e, ErrorEvent)), None):
        return JSONResponse(error_body(502, error.message, **result), status_code=502)
    return result
