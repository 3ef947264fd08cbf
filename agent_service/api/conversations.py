"""Conversations and their messages."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from agent_service.api.deps import OwnerDep, ServicesDep
from agent_service.api.schemas import ConversationCreate, ConversationRename
from agent_service.db import crud
from agent_service.db.models import ConversationPublic, MessagePublic

router = APIRouter(prefix="/conversations", tags=["conversations"])


class ConversationPage(BaseModel):
    items: list[ConversationPublic]
    total: int
    limit: int
    offset: int


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConversationPublic)
async def create_conversation(body: ConversationCreate, services: ServicesDep, owner: OwnerDep):
    return await services.db.atransact(
        crud.create_conversation, title=body.title, chat_type=body.chat_type, owner=owner
    )


@router.get("", response_model=ConversationPage)
async def list_conversations(
    services: ServicesDep,
    owner: OwnerDep,
    limit: int = Query(20, ge=1, le=200),
    offset: int = Query(0, ge=0, le=2**62),
    q: str = Query("", max_length=200, description="Only titles containing this text (any case)."),
):
    """Newest first (by last activity)."""
    items, total = await services.db.atransact(
        crud.list_conversations, limit=limit, offset=offset, owner=owner, title_contains=q.strip()
    )
    return ConversationPage(
        items=[ConversationPublic.model_validate(c, from_attributes=True) for c in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{conversation_id}", response_model=ConversationPublic)
async def get_conversation(conversation_id: str, services: ServicesDep, owner: OwnerDep):
    return await services.db.atransact(crud.get_conversation, conversation_id=conversation_id, owner=owner)


@router.patch("/{conversation_id}", response_model=ConversationPublic)
async def rename_conversation(conversation_id: str, body: ConversationRename, services: ServicesDep, owner: OwnerDep):
    return await services.db.atransact(
        crud.rename_conversation, conversation_id=conversation_id, title=body.title, owner=owner
    )


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_conversation(conversation_id: str, services: ServicesDep, owner: OwnerDep) -> Response:
    await services.db.atransact(crud.delete_conversation, conversation_id=conversation_id, owner=owner)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{conversation_id}/messages", response_model=list[MessagePublic])
async def list_messages(conversation_id: str, services: ServicesDep, owner: OwnerDep):
    """Every message in order, with status, metadata, feedback and tool calls."""
    return await services.db.atransact(crud.list_messages, conversation_id=conversation_id, owner=owner)
