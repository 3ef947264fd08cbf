"""What OpenAI's Responses API keeps beyond a turn. A response is an answer row; its
question row keeps the request's input items and the response it continues
(`meta["responses"]`, written with the question by `runs.start`). Read back here: a
response with its input (`response_link`), the chain a `previous_response_id` continues
(`response_chain`); and a response's deletion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlmodel import Session

from agent_service.db.models import Conversation, Message, ToolCall
from agent_service.errors import NotFoundError

_messages = Message.__table__
_conversations = Conversation.__table__

_ANSWER = (
    select(
        _messages.c.seq,
        _messages.c.conversation_id,
        _messages.c.content,
        _messages.c.status,
        _messages.c.metadata,
        _messages.c.created_at,
        _conversations.c.owner,
    )
    .join(_conversations, _conversations.c.id == _messages.c.conversation_id)
    .where(_messages.c.id == bindparam("message_id"), _messages.c.role == "assistant")
)
# An answer's question: saved with it, just before it (one transaction, `crud.add_turn_rows`).
_QUESTION = (
    select(_messages.c.id, _messages.c.content, _messages.c.metadata)
    .where(
        _messages.c.conversation_id == bindparam("conversation_id"),
        _messages.c.seq < bindparam("answer_seq"),
        _messages.c.role == "user",
    )
    .order_by(_messages.c.seq.desc())
    .limit(1)
)


@dataclass
class Link:
    """One response of a chain: what it was given and what it answered."""

    message_id: str
    conversation_id: str
    status: str
    content: str
    tool_calls: list[dict[str, Any]]  # OpenAI's shape, as the answer's metadata keeps them
    question_id: str
    input: list[dict[str, Any]] = field(default_factory=list)  # Responses input items
    previous: str | None = None  # the message id of the response this one continues
    settings: dict[str, Any] = field(default_factory=dict)  # what the response repeats of its request
    created_at: datetime | None = None

    @property
    def size(self) -> int:
        return len(self.content) + len(json.dumps(self.input, ensure_ascii=False)) + len(str(self.tool_calls))


def response_link(*, session: Session, message_id: str, owner: str | None) -> Link:
    """The caller's response `message_id` with its input; NotFoundError otherwise."""
    link = _link(session, message_id)
    if link is None or (owner is not None and link[1] != owner):
        raise NotFoundError(f"response 'resp_{message_id}' not found")
    return link[0]


def _link(session: Session, message_id: str) -> tuple[Link, str | None] | None:
    connection = session.connection()
    answer = connection.execute(_ANSWER, {"message_id": message_id}).first()
    if answer is None:
        return None
    params = {"conversation_id": answer.conversation_id, "answer_seq": answer.seq}
    question = connection.execute(_QUESTION, params).first()
    meta = answer.metadata or {}
    kept = (question.metadata or {}).get("responses", {}) if question else {}
    # A turn that came by another route: its question, as a message.
    given = kept.get("input") or ([_user_item(question.content)] if question else [])
    link = Link(
        message_id=message_id,
        conversation_id=answer.conversation_id,
        status=answer.status,
        content=answer.content,
        tool_calls=list(meta.get("tool_calls") or []),
        question_id=question.id if question else "",
        input=given,
        previous=kept.get("previous"),
        settings=kept.get("settings") or {},
        created_at=answer.created_at,
    )
    return link, answer.owner


def _user_item(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def response_chain(*, session: Session, message_id: str, owner: str | None, max_chars: int) -> list[Link]:
    """The response `message_id` and those it continues, oldest first: as many as fit in
    `max_chars` (the newest always). A response deleted from the chain ends it there."""
    chain = [response_link(session=session, message_id=message_id, owner=owner)]
    size = chain[0].size
    seen = {message_id}
    while (previous := chain[-1].previous) and previous not in seen:
        found = _link(session, previous)
        if found is None or size + found[0].size > max_chars:
            break
        seen.add(previous)
        chain.append(found[0])
        size += found[0].size
    chain.reverse()
    return chain


def delete_response(*, session: Session, message_id: str, owner: str | None) -> None:
    """Delete a finished response: its answer with its tool calls, and its question; one
    transaction. Another owner's, or one deleted a moment ago, is a NotFoundError."""
    link = response_link(session=session, message_id=message_id, owner=owner)
    session.exec(delete(ToolCall).where(ToolCall.message_id == message_id))  # type: ignore[call-overload,arg-type]
    doomed = [message_id, link.question_id] if link.question_id else [message_id]
    deleted = session.exec(delete(Message).where(Message.id.in_(doomed)))  # type: ignore[call-overload,attr-defined]
    if not deleted.rowcount:
        session.rollback()
        raise NotFoundError(f"response 'resp_{message_id}' not found")
    session.commit()
