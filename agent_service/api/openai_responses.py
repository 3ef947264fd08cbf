"""OpenAI's Responses API on the service's runs: `POST /v1/responses` and
`GET /v1/responses/{id}` (`protocols.openai.responses` reads the request and renders the
answer). A response is a chat turn like any other: stored, with the same persistence."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from sse_starlette import ServerSentEvent

from agent_service.api.deps import CallerDep, OwnerDep, ServicesDep
from agent_service.api.errors import openai_error
from agent_service.api.openai_chat import known_model, start_chat_completion
from agent_service.protocols.openai.responses import ResponseRequest, ResponseStream
from agent_service.runs.replay import find_answer
from agent_service.streaming.responses import collect, sse_response

router = APIRouter(prefix="/v1", tags=["openai"])

ResponseId = Annotated[str, Path(pattern=r"^resp_[A-Za-z0-9_-]{1,64}$", description="`resp_<message_id>`")]


def _frame(event: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(event, ensure_ascii=False), event=event["type"])


def _final(events: list[dict[str, Any]]) -> dict[str, Any]:
    return events[-1]["response"]


@router.post("/responses")
async def create_response(body: ResponseRequest, request: Request, services: ServicesDep, caller: CallerDep):
    """A response, streamed (OpenAI's Responses events) or whole (a `response` object)."""
    chat = body.as_chat_completion()
    model = known_model(services, chat.model)
    run = await start_chat_completion(services, chat, caller, str(request.base_url))
    events = ResponseStream(model=model, **run.turn.ids).events(run.events())
    if body.stream:
        return sse_response(events, encode=_frame)
    response = _final(await collect(events))
    if response["status"] == "failed":
        message = (response.get("error") or {}).get("message", "the model failed")
        return JSONResponse({**openai_error(502, message, code="upstream_error"), **run.turn.ids}, status_code=502)
    return response


@router.get("/responses/{response_id}")
async def get_response(response_id: ResponseId, services: ServicesDep, owner: OwnerDep) -> dict[str, Any]:
    """A stored response, or a live one as far as it has come (`status: in_progress`)."""
    answer = await find_answer(services, message_id=response_id.removeprefix("resp_"), owner=owner)
    created = int(answer.stored.created_at.timestamp()) if answer.stored else None
    stream = ResponseStream(model=answer.model, **answer.ids, created=created)
    rendered = await collect(stream.events(answer.events(-1, follow=False, earlier=True)))
    return stream.response if not rendered or "response" not in rendered[-1] else _final(rendered)
