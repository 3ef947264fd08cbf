"""`/chat/knowledge_base_chat`: answers from a knowledge base, with numbered sources."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from agent_service.api.deps import ServicesDep
from agent_service.api.errors import error_body
from agent_service.api.schemas import KnowledgeBaseChatRequest
from agent_service.api.turns import start_turn
from agent_service.chains import kb_chat
from agent_service.chains.answer import stream_answer
from agent_service.chains.llm_chat import build_messages
from agent_service.streaming.events import DocsEvent, DoneEvent, ErrorEvent, StreamEvent, TokenEvent
from agent_service.streaming.responses import collect, sse_response

router = APIRouter(tags=["knowledge base chat"])


@router.post("/chat/knowledge_base_chat")
async def knowledge_base_chat(body: KnowledgeBaseChatRequest, request: Request, services: ServicesDep):
    """Search the knowledge base, then stream an answer that cites what it found.

    Stream: metadata, docs (the sources), token..., done (which repeats
    Chatchat's `docs`, the key its client reads from the last event).
    """
    model_name = services.models.resolve(body.model_name)
    model_config = services.models.config(model_name)
    template = services.prompts.get("kb_chat", body.prompt_name)
    nothing_found = services.prompts.get("kb_chat", "empty")
    model = services.models.chat_model(model_name, temperature=body.temperature, max_tokens=body.max_tokens)
    hits = await anyio.to_thread.run_sync(
        lambda: services.knowledge.search(
            name=body.knowledge_base_name, query=body.query, top_k=body.top_k, score_threshold=body.score_threshold
        )
    )

    turn = await start_turn(services, body, chat_type="knowledge_base_chat", model_name=model_name)
    base_url = str(request.base_url)
    found = kb_chat.sources(hits, kb=body.knowledge_base_name, base_url=base_url)
    docs = kb_chat.chatchat_docs(hits, kb=body.knowledge_base_name, base_url=base_url)
    messages = build_messages(
        template=template if hits else nothing_found,
        query=body.query,
        history=turn.history,
        context_window=model_config.context_window,
        max_tokens=body.max_tokens,
        context=kb_chat.context(hits),
    )
    answer = stream_answer(
        db=services.db,
        turn=turn,
        model=model,
        messages=messages,
        first_events=[DocsEvent(**turn.ids, sources=found, docs=docs)],
        chatchat_answer_key=True,
        extra_meta={"sources": found, "knowledge_base": body.knowledge_base_name},
    )

    async def events():
        async for event in answer:
            yield event.model_copy(update={"docs": docs}) if isinstance(event, DoneEvent) else event

    if body.stream:
        return sse_response(events())

    collected: list[StreamEvent] = await collect(events())
    done = next(e for e in collected if isinstance(e, DoneEvent))
    result = {
        **turn.ids,
        "answer": "".join(e.text for e in collected if isinstance(e, TokenEvent)),
        "sources": found,
        "docs": docs,
        "status": done.status,
        "finish_reason": done.finish_reason,
    }
    if error := next((e for e in collected if isinstance(e, ErrorEvent)), None):
        return JSONResponse(error_body(502, error.message, **result), status_code=502)
    return result
