"""The OpenAI-compatible API: `POST /v1/chat/completions`, the stored
completions (`GET /v1/chat/completions/{id}`, resumable with
`?stream=true&after=N`; `POST .../{id}/cancel`) and `GET /v1/models`.

A request becomes the matching Chatchat-route request and runs the same turn
(`runs.start`): the same persistence, memory, agent and knowledge bases; only
the answer's shape differs (`protocols.openai.chunks`). `{id}` is the
completion's `chatcmpl-…` id. Errors come in OpenAI's shape (`api.errors`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sse_starlette import ServerSentEvent

from agent_service.agents.client_calls import answer_of
from agent_service.agents.tool_registry import UnknownToolError
from agent_service.api.deps import CallerDep, OwnerDep, ServicesDep
from agent_service.db import answers
from agent_service.errors import NotFoundError, ServiceError
from agent_service.knowledge.errors import KnowledgeBaseNotFoundError
from agent_service.protocols.chatchat.requests import (
    MAX_HISTORY_LEN,
    AgentChatRequest,
    ChatRequest,
    ChatRequestBase,
    KnowledgeBaseChatRequest,
)
from agent_service.protocols.openai.chunks import ChunkStream, fold
from agent_service.protocols.openai.errors import openai_error
from agent_service.protocols.openai.requests import ChatCompletionRequest
from agent_service.runs.replay import FoundAnswer, find_answer
from agent_service.runs.start import (
    ResumedAnswer,
    StartedAnswer,
    resume_with_tool_results,
    start_agent_chat,
    start_completion,
    start_knowledge_base_chat,
)
from agent_service.runs.turn import Caller
from agent_service.services import Services
from agent_service.streaming.responses import collect, sse_response

router = APIRouter(prefix="/v1", tags=["openai"])

DONE = "[DONE]"

TurnRequest = TypeVar("TurnRequest", bound=ChatRequestBase)


def _model_entry(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "agent-service"}


def known_model(services: Services, name: str) -> str:
    if name not in services.models.configs:
        known = ", ".join(services.models.configs)
        raise NotFoundError(
            f"model {name!r} does not exist; configured models: {known}", code="invalid_model", param="model"
        )
    return name


@router.get("/models")
def list_models(services: ServicesDep) -> dict[str, Any]:
    return {"object": "list", "data": [_model_entry(name) for name in services.models.configs]}


@router.get("/models/{model}")
def get_model(model: str, services: ServicesDep) -> dict[str, Any]:
    return _model_entry(known_model(services, model))


def _turn_fields(body: ChatCompletionRequest) -> dict[str, Any]:
    """The Chatchat-route fields of this request. With a conversation and no
    earlier turns in `messages`, the history comes from the database."""
    return {
        "query": body.query,
        "conversation_id": body.conversation_id,
        "history": body.history,
        "history_len": MAX_HISTORY_LEN,
        "stream": body.stream,
        "model_name": body.model,
        "temperature": body.temperature,
        "max_tokens": body.max_completion_tokens or body.max_tokens,
        "top_p": body.top_p,
        "stop": body.stop,
        "system": body.system,
    }


def _request(kind: type[TurnRequest], body: ChatCompletionRequest, **fields: Any) -> TurnRequest:
    """The Chatchat-route request for this completion. Chatchat's routes default the
    temperature to 0.7; an OpenAI client that sends none gets the model's own."""
    request = kind(**_turn_fields(body), **fields)
    return request if body.temperature is not None else request.model_copy(update={"temperature": None})


async def start_chat_completion(
    services: Services,
    body: ChatCompletionRequest,
    caller: Caller,
    base_url: str,
    *,
    on_disconnect: str | None = None,
    question_meta: dict[str, Any] | None = None,
) -> StartedAnswer | ResumedAnswer:
    """Start the turn this completion asks for, in its chat mode. `on_disconnect` overrides the
    setting (a background response goes on alone); `question_meta` is kept with the question."""
    listed = services.settings.openai_store_default if body.store is None else body.store
    kept = {"listed": listed, "question_meta": question_meta}
    extra = {"on_disconnect": on_disconnect} if on_disconnect else {}
    try:
        if body.chat_mode == "chat_knowledge":
            if not isinstance(body.chat_param, str) or not body.chat_param.strip():
                raise ServiceError(
                    "chat_mode chat_knowledge needs chat_param: the knowledge base's name",
                    code="invalid_chat_param",
                    param="chat_param",
                )
            request = _request(KnowledgeBaseChatRequest, body, knowledge_base_name=body.chat_param.strip(), **extra)
            return await start_knowledge_base_chat(services, request, caller=caller, base_url=base_url, **kept)
        if body.chat_mode == "chat_agent":
            if body.stop:
                raise ServiceError(
                    "stop is not supported with chat_mode chat_agent", code="invalid_value", param="stop"
                )
            results = body.tool_results()
            if results and (message_id := answer_of(next(iter(results)))):
                # The results of the client's tools an answer waits for: that answer goes on.
                on_disconnect = on_disconnect or services.settings.on_disconnect
                return await resume_with_tool_results(
                    services, message_id=message_id, results=results, caller=caller, on_disconnect=on_disconnect
                )
            request = _request(AgentChatRequest, body, tools=body.tool_names, **extra)
            return await start_agent_chat(services, request, caller=caller, client_tools=body.client_tools(), **kept)
        return await start_completion(
            services,
            _request(ChatRequest, body, **extra),
            caller=caller,
            messages_for=body.model_messages,
            tools=body.client_tools(),
            options=body.model_options(),
            **kept,
        )
    # The turn starts refusing before it writes anything; here the refusals name OpenAI's parameter.
    except KnowledgeBaseNotFoundError as exc:
        raise NotFoundError(str(exc), code="invalid_chat_param", param="chat_param") from None
    except UnknownToolError as exc:
        raise ServiceError(str(exc), code="invalid_chat_param", param="chat_param") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ServiceError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", code="invalid_value") from None


def _frame(item: dict[str, Any] | str) -> ServerSentEvent:
    return ServerSentEvent(data=item if isinstance(item, str) else json.dumps(item, ensure_ascii=False))


async def _then_done(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any] | str]:
    async for chunk in chunks:
        yield chunk
    yield DONE


@router.post("/chat/completions")
async def chat_completions(body: ChatCompletionRequest, request: Request, services: ServicesDep, caller: CallerDep):
    """An OpenAI chat completion, streamed or not, in any chat mode; every
    response carries its `conversation_id`."""
    model = known_model(services, body.model)
    run = await start_chat_completion(services, body, caller, str(request.base_url))
    include_usage = bool(body.stream_options and body.stream_options.include_usage) or not body.stream
    chunks = ChunkStream(
        model=model,
        **run.ids,
        sources=run.sources if body.chat_mode == "chat_knowledge" else None,
        include_usage=include_usage,
    ).chunks(run.events(), after=run.after)
    if body.stream:
        return sse_response(_then_done(chunks), encode=_frame)

    collected = await collect(chunks)
    if failed := next((chunk for chunk in collected if "error" in chunk), None):
        body_ = openai_error(502, failed["error"]["message"], code="upstream_error")
        return JSONResponse({**body_, **run.ids}, status_code=502)
    return fold(collected)


@router.get("/chat/completions")
async def list_chat_completions(
    services: ServicesDep,
    owner: OwnerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(pattern=r"^chatcmpl-[A-Za-z0-9_-]{1,64}$")] = None,
    order: Literal["asc", "desc"] = "asc",
    model: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The caller's stored completions (OpenAI's list): those of listed conversations (`store`),
    finished, in the order they were made (`order`), after the completion `after`."""
    found = await services.db.atransact(
        answers.listed_answers,
        owner=owner,
        limit=limit + 1,  # one more tells whether there are more
        after=after.removeprefix("chatcmpl-") if after else None,
        newest_first=order == "desc",
        model=model,
    )
    page = [
        fold(await collect(_completion_chunks(FoundAnswer(stored.message_id, live=None, stored=stored), -1)))
        for stored in found[:limit]
    ]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(found) > limit,
    }


CompletionId = Annotated[str, Path(pattern=r"^chatcmpl-[A-Za-z0-9_-]{1,64}$", description="`chatcmpl-<message_id>`")]


async def _find_completion(services: Services, completion_id: str, owner: str | None) -> FoundAnswer:
    return await find_answer(
        services.runs, services.db, message_id=completion_id.removeprefix("chatcmpl-"), owner=owner
    )


def _completion_chunks(answer: FoundAnswer, after: int, *, follow: bool = True) -> AsyncIterator[dict[str, Any]]:
    """A stored or live answer as chunks, those of events up to `after` left out;
    a live one's until it ends (`follow`) or as far as it has come."""
    stream = ChunkStream(
        model=answer.model,
        **answer.ids,
        include_usage=True,
        created=int(answer.stored.created_at.timestamp()) if answer.stored else None,
    )
    return stream.chunks(answer.events(after, follow=follow, earlier=True), after=after)


@router.get("/chat/completions/{completion_id}")
async def get_chat_completion(
    completion_id: CompletionId,
    services: ServicesDep,
    owner: OwnerDep,
    stream: bool = False,
    after: Annotated[int, Query(ge=-1, description="With `stream`: the last `seq` the client has.")] = -1,
):
    """A stored completion (`chat.completion`; a live one as far as it has come,
    `status: streaming`), or with `stream=true` its chunks after `after`,
    following a live answer until it ends, then `[DONE]`."""
    answer = await _find_completion(services, completion_id, owner)
    if stream:
        return sse_response(_then_done(_completion_chunks(answer, after)), encode=_frame)
    completion = fold(await collect(_completion_chunks(answer, -1, follow=False)))
    return completion if answer.stored else {**completion, "status": "streaming"}


@router.post("/chat/completions/{completion_id}/cancel")
async def cancel_chat_completion(completion_id: CompletionId, services: ServicesDep, owner: OwnerDep):
    """Stop a live completion (saved `interrupted`, reason `stopped`) and return it;
    a finished one is returned as it is."""
    answer = await _find_completion(services, completion_id, owner)
    if answer.live is not None:
        await services.runs.stop(answer.message_id, "stopped")
    stored = await services.db.atransact(answers.stored_answer, message_id=answer.message_id, owner=owner)
    return fold(await collect(_completion_chunks(FoundAnswer(answer.message_id, live=None, stored=stored), -1)))
