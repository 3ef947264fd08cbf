"""`/chat/knowledge_base_chat`: answers from a knowledge base, with numbered sources."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field

from agent_service.api.chat_responses import answer_text, chatchat_response
from agent_service.api.chatchat_kb import relevance_from_distance
from agent_service.api.deps import CallerDep, ServicesDep
from agent_service.knowledge.fusion import DEFAULT_SCORE_THRESHOLD
from agent_service.protocols.chatchat.requests import KnowledgeBaseChatRequest
from agent_service.runs.start import start_knowledge_base_chat

router = APIRouter(tags=["knowledge base chat"])


class ChatchatKnowledgeBaseChatRequest(KnowledgeBaseChatRequest):
    score_threshold: float = Field(
        1.0 - DEFAULT_SCORE_THRESHOLD,
        ge=0.0,
        le=2.0,
        description="Chatchat's meaning: the largest distance (1 - relevance) a source may have; "
        "1.0, what Chatchat's clients send, keeps the top_k best.",
    )


@router.post("/chat/knowledge_base_chat")
async def knowledge_base_chat(
    body: ChatchatKnowledgeBaseChatRequest, request: Request, services: ServicesDep, caller: CallerDep
):
    """Search the knowledge base, then stream an answer that cites what it found."""
    body = body.model_copy(update={"score_threshold": relevance_from_distance(body.score_threshold)})
    run = await start_knowledge_base_chat(services, body, caller=caller, base_url=str(request.base_url))
    return await chatchat_response(
        run,
        route="knowledge_base_chat",
        stream=body.stream,
        fields=lambda events: {"answer": answer_text(events), "sources": run.sources, "docs": run.docs},
    )
