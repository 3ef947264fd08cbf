"""`/chat/chat` (conversation with memory) and `/chat/feedback`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from agent_service.api.deps import OwnerDep, ServicesDep
from agent_service.api.errors import error_body
from agent_service.api.runs import start_llm_chat
from agent_service.api.schemas import ChatRequest, FeedbackRequest
from agent_service.db import crud
from agent_service.streaming.events import DoneEvent, ErrorEvent, TokenEvent
from agent_service.streaming.responses import collect, sse_response

router = APIRouter(tags=["chat"])


@router.post("/chat/chat")
async def chat(body: ChatRequest, services: ServicesDep, owner: OwnerDep):
    """Chat with a model; the conversation and its history live in the database."""
    run = await start_llm_chat(services, body, owner=owner)
    if body.stream:
        return sse_response(run.events)

    collected = await collect(run.events)
    text = "".join(e.text for e in collected if isinstance(e, TokenEvent))
    done = next(e for e in collected if isinstance(e, DoneEvent))
    answer = {
        **run.turn.ids,
        "text": text,
        "status": done.status,
        "finish_reason": done.finish_reason,
        "usage": done.usage,
    }
    if error := next((e for e in collected if isinstance(e, ErrorEvent)), None):
        return JSONResponse(error_body(502, error.message, **answer), status_code=502)
    return answer


@router.post("/chat/feedback")
def feedback(body: FeedbackRequest, services: ServicesDep, owner: OwnerDep) -> dict[str, object]:
    """Rate an answer (0-100) with an optional reason."""
    services.db.call(crud.set_feedback, message_id=body.message_id, score=body.score, reason=body.reason, owner=owner)
    return {"code": 200, "msg": f"feedback saved for message {body.message_id}", "message_id": body.message_id}
