"""OpenAI's Responses API on the service's runs: `POST /v1/responses` and
`GET /v1/responses/{id}` (`protocols.openai.responses` reads the request and renders the
answer). A response is a chat turn like any other: stored, with the same persistence."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sse_starlette import ServerSentEvent

from agent_service.api.deps import CallerDep, OwnerDep, ServicesDep
from agent_service.api.errors import openai_error
from agent_service.api.openai_chat import known_model, start_chat_completion
from agent_service.protocols.openai.requests import ChatCompletionRequest
from agent_service.protocols.openai.responses import ResponseRequest, ResponseStream
from agent_service.runs.replay import find_answer
from agent_service.streaming.responses import collect, sse_response

router = APIRouter(prefix="/v1", tags=["openai"])

# Chat-completion fields by the names the Responses request gives them. Below the top level
# the two shapes differ (a message's index is the chat's, instructions come first; a tool is
# nested differently): an error names the Responses field alone.
RESPONSES_NAMES = {"messages": "input", "response_format": "text", "max_completion_tokens": "max_output_tokens"}


def _chat_completion(body: ResponseRequest) -> ChatCompletionRequest:
    """The request in chat-completion terms; what is wrong with it is told in the Responses
    request's own names, by the app's validation-error handler."""
    try:
        return body.as_chat_completion()
    except ValidationError as exc:
        named = [{**error, "loc": ("body", _responses_name(error["loc"][0]))} for error in exc.errors()]
        raise RequestValidationError(named) from None


def _responses_name(field: object) -> str:
    return RESPONSES_NAMES.get(str(field), str(field))


ResponseId = Annotated[str, Path(pattern=r"^resp_[A-Za-z0-9_-]{1,64}$", description="`resp_<message_id>`")]


def _frame(event: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(event, ensure_ascii=False), event=event["type"])


def _final(events: list[dict[str, Any]]) -> dict[str, Any]:
    return events[-1]["response"]


@router.post("/responses")
async def create_response(body: ResponseRequest, request: Request, services: ServicesDep, caller: CallerDep):
    """A response, streamed (OpenAI's Responses events) or whole (a `response` object)."""
    chat = _chat_completion(body)
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
