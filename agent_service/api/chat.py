"""`/chat/chat` (conversation with memory) and `/chat/feedback`."""

from __future__ import annotations

from fastapi import APIRouter

from agent_service.api.chat_responses import answer_text, chatchat_response
from agent_service.api.deps import CallerDep, OwnerDep, ServicesDep
from agent_service.api.schemas import FeedbackRequest
from agent_service.db import crud
from agent_service.protocols.chatchat.requests import ChatRequest
from agent_service.runs.start import start_llm_chat

router = APIRouter(tags=["chat"])


@router.post("/chat/chat")
async def chat(body: ChatRequest, services: ServicesDep, caller: CallerDep):
    """Chat with a model; the conversation and its history live in the database."""
    run = await start_llm_chat(services, body, caller=caller)
    return await chatchat_response(
        run, route="llm_chat", stream=body.stream, fields=lambda events: {"text": answer_text(events)}
    )


@router.post("/chat/feedback")
def feedback(body: FeedbackRequest, services: ServicesDep, owner: OwnerDep) -> dict[str, object]:
    """Rate an answer (0-100) with an optional reason."""
    services.db.transact(
        crud.set_feedback, message_id=body.message_id, score=body.score, reason=body.reason, owner=owner
    )
    return {"code": 200, "msg": f"feedback saved for message {body.message_id}", "message_id": body.message_id}
