"""OpenAI's Responses API on the service's durable runs: `POST /v1/responses`,
`GET /v1/responses/{id}` (whole, or streamed again from any `sequence_number` with
`?stream=true&starting_after=N`), `POST .../{id}/cancel`, `DELETE .../{id}` and
`GET .../{id}/input_items` (`protocols.openai.responses` reads the request and renders
the answer). A response is a chat turn like any other: stored, with the same persistence;
a `background` one runs to its end with no client (the `continue` policy), and like every
live answer it can be followed, resumed or cancelled from any replica.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sse_starlette import ServerSentEvent

from agent_service.api.deps import CallerDep, OwnerDep, ServicesDep
from agent_service.api.openai_chat import known_model, start_chat_completion
from agent_service.db import responses as stored_responses
from agent_service.db.models import LIVE_STATUSES
from agent_service.errors import NotFoundError, ServiceError
from agent_service.protocols.chatchat.requests import MAX_QUERY_CHARS
from agent_service.protocols.openai.errors import openai_error
from agent_service.protocols.openai.requests import ChatCompletionRequest
from agent_service.protocols.openai.responses import CANCELLED, ResponseRequest, ResponseStream, chain_messages
from agent_service.runs.replay import FoundAnswer, find_answer
from agent_service.services import Services
from agent_service.streaming.responses import collect, sse_response

router = APIRouter(prefix="/v1", tags=["openai"])

# Chat-completion fields by the names the Responses request gives them. Below the top level
# the two shapes differ (a message's index is the chat's, instructions come first; a tool is
# nested differently): an error names the Responses field alone.
RESPONSES_NAMES = {"messages": "input", "response_format": "text", "max_completion_tokens": "max_output_tokens"}
# How much of a chain of responses a request continues (the model's context window trims further).
CHAIN_CHARS = 5 * MAX_QUERY_CHARS

ResponseId = Annotated[str, Path(pattern=r"^resp_[A-Za-z0-9_-]{1,64}$", description="`resp_<message_id>`")]


def _chat_completion(
    services: Services, body: ResponseRequest, before: list[dict[str, Any]], conversation_id: str | None
) -> ChatCompletionRequest:
    """The request in chat-completion terms; what is wrong with it is told in the Responses
    request's own names, by the app's validation-error handler."""
    try:
        server_tools = frozenset(services.tools.names())
        return body.as_chat_completion(before, conversation_id=conversation_id, server_tools=server_tools)
    except ValidationError as exc:
        named = [{**error, "loc": ("body", _responses_name(error["loc"][0]))} for error in exc.errors()]
        raise RequestValidationError(named) from None


def _responses_name(field: object) -> str:
    return RESPONSES_NAMES.get(str(field), str(field))


def _frame(event: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(event, ensure_ascii=False), event=event["type"])


def _frames(batch: list[dict[str, Any]]) -> bytes:
    """The events one answer event makes (up to seven), sent together: one write, not seven."""
    return b"".join(_frame(event).encode() for event in batch)


async def _after(
    batches: AsyncIterator[list[dict[str, Any]]], sequence_number: int
) -> AsyncIterator[list[dict[str, Any]]]:
    async with aclosing(batches):
        async for batch in batches:
            if kept := [event for event in batch if event["sequence_number"] > sequence_number]:
                yield kept


def _final(events: list[dict[str, Any]]) -> dict[str, Any]:
    return events[-1]["response"]


async def _continued(services: Services, body: ResponseRequest, owner: str | None) -> tuple[list[dict], str | None]:
    """The chat messages of the responses `previous_response_id` continues, and their conversation."""
    if not body.previous_response_id:
        return [], None
    try:
        chain = await services.db.atransact(
            stored_responses.response_chain,
            message_id=body.previous_response_id.removeprefix("resp_"),
            owner=owner,
            max_chars=CHAIN_CHARS,
        )
    except NotFoundError as exc:
        raise NotFoundError(str(exc), code="previous_response_not_found", param="previous_response_id") from None
    if chain[-1].status == "requires_action":
        return [], None  # it waits for the client's tool results: they find it by their call ids
    if chain[-1].status in LIVE_STATUSES:
        raise ServiceError(
            f"response {body.previous_response_id!r} is still in progress: continue from it once it has ended",
            code="previous_response_in_progress",
            param="previous_response_id",
        )
    return chain_messages(chain), chain[-1].conversation_id


@router.post("/responses")
async def create_response(body: ResponseRequest, request: Request, services: ServicesDep, caller: CallerDep):
    """A response, streamed (OpenAI's Responses events) or whole (a `response` object); with
    `background`, the response object at once (`queued`) while the answer runs on alone."""
    before, conversation_id = await _continued(services, body, caller.owner)
    chat = _chat_completion(services, body, before, conversation_id)
    model = known_model(services, chat.model)
    settings = body.settings()
    previous = (body.previous_response_id or "").removeprefix("resp_") or None
    kept = {"input": body.input_items(), "previous": previous, "settings": settings}
    run = await start_chat_completion(
        services,
        chat,
        caller,
        str(request.base_url),
        on_disconnect="continue" if body.background else None,
        question_meta={"responses": kept},
    )
    stream = ResponseStream(model=model, **run.ids, settings=settings)
    if body.background and not body.stream:
        return stream.response  # nobody follows the run: it goes on to its end and is saved
    if body.stream:
        return sse_response(stream.batches(run.events(), after=run.after), encode=_frames)
    response = _final(await collect(stream.events(run.events(), after=run.after)))
    if response["status"] == "failed":
        message = (response.get("error") or {}).get("message", "the model failed")
        return JSONResponse({**openai_error(502, message, code="upstream_error"), **run.ids}, status_code=502)
    return response


@dataclass
class FoundResponse:
    answer: FoundAnswer  # live or stored
    link: stored_responses.Link  # its input and settings

    def stream(self) -> ResponseStream:
        """The answer's renderer: from the first event, the same events numbered the same each
        time it is rendered (live or stored)."""
        answer, created_at = self.answer, self.link.created_at  # the row's, live or stored
        created = int(created_at.timestamp()) if created_at else None
        return ResponseStream(model=answer.model, **answer.ids, created=created, settings=self.link.settings)

    def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Its Responses events, following a live answer to its end."""
        return self.stream().batches(self.answer.events(-1, earlier=True))

    async def response(self) -> dict[str, Any]:
        rendered = await collect(self.stream().events(self.answer.events(-1, follow=False, earlier=True)))
        if rendered and "response" in rendered[-1]:
            return _final(rendered)
        # Live, before its first event.
        return ResponseStream(model=self.answer.model, **self.answer.ids, settings=self.link.settings).response


async def _find_response(services: Services, response_id: str, owner: str | None) -> FoundResponse:
    message_id = response_id.removeprefix("resp_")
    try:
        answer = await find_answer(services.runs, services.db, message_id=message_id, owner=owner)
        link = await services.db.atransact(stored_responses.response_link, message_id=message_id, owner=owner)
    except NotFoundError:
        raise NotFoundError(f"response {response_id!r} not found") from None
    return FoundResponse(answer, link)


@router.get("/responses/{response_id}")
async def get_response(
    response_id: ResponseId,
    services: ServicesDep,
    owner: OwnerDep,
    stream: bool = False,
    starting_after: Annotated[
        int, Query(ge=-1, description="With `stream`: the last `sequence_number` the client has.")
    ] = -1,
):
    """A stored response, or a live one as far as it has come (`status: in_progress`); with
    `stream=true`, its events after `starting_after`, following a live one to its end."""
    found = await _find_response(services, response_id, owner)
    if stream:
        return sse_response(_after(found.batches(), starting_after), encode=_frames)
    return await found.response()


@router.post("/responses/{response_id}/cancel")
async def cancel_response(response_id: ResponseId, services: ServicesDep, owner: OwnerDep) -> dict[str, Any]:
    """Stop a live response (`cancelled`, saved as it got) and return it; a finished one is
    returned as it is."""
    found = await _find_response(services, response_id, owner)
    if found.answer.live is not None:
        await services.runs.stop(found.answer.message_id, CANCELLED[0])
        found = await _find_response(services, response_id, owner)
    return await found.response()


@router.delete("/responses/{response_id}")
async def delete_response(response_id: ResponseId, services: ServicesDep, owner: OwnerDep) -> dict[str, Any]:
    """Delete a response (its answer and its question); a live one is cancelled first."""
    found = await _find_response(services, response_id, owner)
    if found.answer.live is not None:
        await services.runs.stop(found.answer.message_id, CANCELLED[0])
    try:
        await services.db.atransact(stored_responses.delete_response, message_id=found.answer.message_id, owner=owner)
    except NotFoundError:
        raise NotFoundError(f"response {response_id!r} not found") from None
    return {"id": response_id, "object": "response", "deleted": True}


@router.get("/responses/{response_id}/input_items")
async def list_input_items(
    response_id: ResponseId,
    services: ServicesDep,
    owner: OwnerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The items the response was given (OpenAI's list; newest first by default)."""
    try:
        link = await services.db.atransact(
            stored_responses.response_link, message_id=response_id.removeprefix("resp_"), owner=owner
        )
    except NotFoundError:
        raise NotFoundError(f"response {response_id!r} not found") from None
    items = [{"id": f"item_{link.question_id}_{n}", **item} for n, item in enumerate(link.input)]
    if order == "desc":
        items.reverse()
    if after is not None:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    page = items[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(items) > limit,
    }
