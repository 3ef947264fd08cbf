"""`/chat/knowledge_base_chat`: answers from a knowledge base, with numbered sources."""

from __future__ import annotations

from fastapi import APIRouter, Request

from agent_service.api.chat_responses import answer_text, chatchat_response
from agent_service.api.deps import OwnerDep, ServicesDep
from agent_service.api.schemas import KnowledgeBaseChatRequest
from agent_service.runs.start import start_knowledge_base_chat

router = APIRouter(tags=["knowledge base chat"])


@router.post("/chat/knowledge_base_chat")
async def knowledge_base_chat(body: KnowledgeBaseChatRequest, request: Request, services: ServicesDep, owner: OwnerDep):
    """Search the knowledge base, then stream an answer that cites what it found."""
    run = await start_knowledge_base_chat(services, body, owner=owner, base_url=str(request.base_url))
    return await chatchat_response(
        run,
        route="knowledge_base_chat",
        stream=body.stream,
        fields=lambda events: {"answer": answer_text(events), "sources": run.sources, "docs": run.docs},
    )
