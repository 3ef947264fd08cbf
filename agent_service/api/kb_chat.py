"""`/chat/knowledge_base_chat`: answers from a knowledge base, with numbered sources."""

from __future__ import annotations

from fastapi import APIRouter, Request

from agent_service.api.deps import OwnerDep, ServicesDep
from agent_service.api.runs import answer_text, chatchat_response, start_knowledge_base_chat
from agent_service.api.schemas import KnowledgeBaseChatRequest

router = APIRouter(tags=["knowledge base chat"])


@router.post("/chat/knowledge_base_chat")
async def knowledge_base_chat(body: KnowledgeBaseChatRequest, request: Request, services: ServicesDep, owner: OwnerDep):
    """Search the knowledge base, then stream an answer that cites what it found."""
    run = await start_knowledge_base_chat(services, body, owner=owner, base_url=str(request.base_url))
    return await chatchat_response(
        run,
        stream=body.stream,
        fields=lambda events: {"answer": answer_text(events), "sources": run.sources, "docs": run.docs},
    )
