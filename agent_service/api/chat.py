"""`/chat/chat` (conversation with memory) and `/chat/feedback`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from agent_service.api.deps import ServicesDep
from agent_service.api.errors import error_body
from agent_service.api.schemas import ChatRequest, FeedbackRequest
from agent_service.api.turns import start_turn
from agent_service.chains.answer import stream_answer
from agent_service.chains.llm_chat import build_messages
from agent_service.db import crud
from agent_service.streaming.events import DoneEvent, ErrorEvent, TokenEvent
from agent_service.streaming.responses import collect, sse_response

router = APIRouter(tags=["chat"])


@router.post("/chat/chat")
async def chat(body: ChatRequest, services: ServicesDep):
    """Chat with a model; the conversation and its history live in the database."""
    # Everything that can refuse the request is checked before anything is written.
    model_name = services.models.resolve(body.model_name)
    template = services.prompts.get("llm_chat", body.prompt_name)
    model_config = services.models.config(model_name)
    model = services.models.chat_model(model_name, temperature=body.temperature, max_tokens=body.max_tokens)

    turn = await start_turn(services, body, chat_type="llm_chat", model_name=model_name)
    messages = build_messages(
        template=template,
        query=body.query,
        history=turn.history,
        context_window=model_config.context_window,
        max_tokens=body.max_tokens,
    )
    events = stream_answer(db=services.db, turn=turn, model=model, messages=messages)
    if body.stream:
        return sse_response(events)

    collected = await collect(events)
    text = "".join(e.text for e in collected if isinstance(e, TokenEvent))
    done = next(e for e in collected if isinstance(e, DoneEvent))
    answer = {**turn.ids, "text": text, "status": done.status, "finish_reason": done.finish_reason, "usage": done.usage}
    if error := next((e for e in collected if isinstance(e, ErrorEvent)), None):
        return JSONResponse(error_body(502, error.message, **answer), status_code=502)
    return answer


@router.post("/chat/feedback")
def feedback(body: FeedbackRequest, services: ServicesDep) -> dict[str, object]:
    """Rate an answer (0-100) with an optional reason."""
    services.db.call(crud.set_feedback, message_id=body.message_id, score=body.score, reason=body.reason)
    return {"code": 200, "msg": f"feedback saved for message {body.message_id}", "message_id": body.message_id}
