"""Keyword-only CRUD functions over one session; each commits its own work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from agent_service.db.models import (
    Conversation,
    Message,
    MessagePublic,
    ToolCall,
    utcnow,
)
from agent_service.errors import NotFoundError

TITLE_LENGTH = 60


def title_from_query(query: str) -> str:
    title = " ".join(query.split())
    return title if len(title) <= TITLE_LENGTH else title[: TITLE_LENGTH - 1] + "…"


def create_conversation(
    *, session: Session, title: str = "", chat_type: str = "llm_chat", owner: str | None = None
) -> Conversation:
    conversation = Conversation(title=title, chat_type=chat_type, owner=owner)
    session.add(conversation)
    session.commit()
    return conversation


# `owner` is the caller's key fingerprint, or None when auth is off (every
# conversation visible). Another owner's conversation is reported as absent.


def get_conversation(*, session: Session, conversation_id: str, owner: str | None = None) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or (owner is not None and conversation.owner != owner):
        raise NotFoundError(f"conversation {conversation_id!r} not found")
    return conversation


def list_conversations(
    *, session: Session, limit: int, offset: int, owner: str | None = None, title_contains: str = ""
) -> tuple[list[Conversation], int]:
    """Newest first; `title_contains` matches case-insensitively."""
    query = select(Conversation)
    if owner is not None:
        query = query.where(Conversation.owner == owner)
    if title_contains:
        query = query.where(func.lower(Conversation.title).contains(title_contains.lower(), autoescape=True))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(Conversation.updated_at).desc(), col(Conversation.created_at).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total


def rename_conversation(
    *, session: Session, conversation_id: str, title: str, owner: str | None = None
) -> Conversation:
    conversation = get_conversation(session=session, conversation_id=conversation_id, owner=owner)
    conversation.title = title
    conversation.updated_at = utcnow()
    session.add(conversation)
    session.commit()
    return conversation


def delete_conversation(*, session: Session, conversation_id: str, owner: str | None = None) -> None:
    """Delete a conversation with its messages and their tool calls, in one transaction."""
    get_conversation(session=session, conversation_id=conversation_id, owner=owner)
    message_ids = select(Message.id).where(Message.conversation_id == conversation_id)
    session.exec(delete(ToolCall).where(col(ToolCall.message_id).in_(message_ids)))
    session.exec(delete(Message).where(col(Message.conversation_id) == conversation_id))
    session.exec(delete(Conversation).where(col(Conversation.id) == conversation_id))
    session.commit()


def list_messages(*, session: Session, conversation_id: str, owner: str | None = None) -> list[MessagePublic]:
    get_conversation(session=session, conversation_id=conversation_id, owner=owner)
    messages = session.exec(
        select(Message).where(Message.conversation_id == conversation_id).order_by(col(Message.seq))
    ).all()
    calls = session.exec(
        select(ToolCall)
        .where(col(ToolCall.message_id).in_([m.id for m in messages]))
        .order_by(col(ToolCall.message_id), col(ToolCall.position))
    ).all()
    calls_by_message: dict[str, list[ToolCall]] = {}
    for call in calls:
        calls_by_message.setdefault(call.message_id, []).append(call)
    return [MessagePublic.from_row(m, calls_by_message.get(m.id, [])) for m in messages]


def set_feedback(*, session: Session, message_id: str, score: int, reason: str, owner: str | None = None) -> Message:
    message = session.exec(select(Message).where(Message.id == message_id)).first()
    conversation = session.get(Conversation, message.conversation_id) if message else None
    if message is None or conversation is None or (owner is not None and conversation.owner != owner):
        raise NotFoundError(f"message {message_id!r} not found")
    message.feedback_score = score
    message.feedback_reason = reason
    message.updated_at = utcnow()
    session.add(message)
    session.commit()
    return message


def add_user_message(*, session: Session, conversation: Conversation, content: str, meta: dict[str, Any]) -> Message:
    """Save the user's message and touch the conversation, one commit."""
    message = Message(conversation_id=conversation.id, role="user", content=content, meta=meta)
    if not conversation.title:
        conversation.title = title_from_query(content)
    conversation.updated_at = utcnow()
    session.add(conversation)
    session.add(message)
    session.commit()
    return message


def save_assistant_message(*, session: Session, message: Message, tool_calls: Sequence[ToolCall] = ()) -> Message:
    """Save an answer with its tool calls, once, at the end of its stream."""
    message.updated_at = utcnow()
    session.add(message)
    session.flush()  # the message row must exist before rows that point at it
    session.add_all(tool_calls)
    session.commit()
    return message
