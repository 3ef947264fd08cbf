"""Keyword-only CRUD functions over one session; each commits its own work."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, func, insert, update
from sqlmodel import Session, col, select

from agent_service.db.models import (
    LIVE_STATUSES,
    Conversation,
    Message,
    MessagePublic,
    ToolCall,
    new_id,
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


def _owned_by(owner: str | None) -> list[Any]:
    """The WHERE clause that keeps another owner's conversations out (none with auth off)."""
    return [] if owner is None else [col(Conversation.owner) == owner]


def _not_found(conversation_id: str) -> NotFoundError:
    return NotFoundError(f"conversation {conversation_id!r} not found")


def get_conversation(*, session: Session, conversation_id: str, owner: str | None = None) -> Conversation:
    conversation = session.get(Conversation, _stored_id(session, conversation_id, owner))
    if conversation is None:  # deleted since it was found
        raise _not_found(conversation_id)
    return conversation


def list_conversations(
    *, session: Session, limit: int, offset: int, owner: str | None = None, title_contains: str = ""
) -> tuple[list[Conversation], int]:
    """Newest first; `title_contains` matches case-insensitively."""
    query = select(Conversation).where(col(Conversation.listed))
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
    """One UPDATE: a conversation deleted a moment ago, or another owner's, is a 404."""
    statement = (
        update(Conversation)
        .where(col(Conversation.id) == _stored_id(session, conversation_id, owner), *_owned_by(owner))
        .values(title=title, updated_at=utcnow())
        .returning(Conversation)
    )
    conversation = session.exec(statement).scalars().first()  # type: ignore[call-overload]
    if conversation is None:
        raise _not_found(conversation_id)
    session.commit()
    return conversation


def delete_conversation(*, session: Session, conversation_id: str, owner: str | None = None) -> None:
    """Delete a conversation with its messages and their tool calls, in one transaction;
    one deleted a moment ago (or another owner's) is a 404 and nothing is deleted."""
    stored = _stored_id(session, conversation_id, owner)
    visible = select(Conversation.id).where(col(Conversation.id) == stored, *_owned_by(owner))
    message_ids = select(Message.id).where(col(Message.conversation_id).in_(visible))
    session.exec(delete(ToolCall).where(col(ToolCall.message_id).in_(message_ids)))  # type: ignore[call-overload]
    session.exec(delete(Message).where(col(Message.conversation_id).in_(visible)))  # type: ignore[call-overload]
    deleted = session.exec(  # type: ignore[call-overload]
        delete(Conversation).where(col(Conversation.id) == stored, *_owned_by(owner))
    )
    if not deleted.rowcount:
        session.rollback()
        raise _not_found(conversation_id)
    session.commit()


def list_messages(*, session: Session, conversation_id: str, owner: str | None = None) -> list[MessagePublic]:
    stored = _stored_id(session, conversation_id, owner)
    messages = session.exec(select(Message).where(Message.conversation_id == stored).order_by(col(Message.seq))).all()
    calls = session.exec(
        select(ToolCall)
        .where(col(ToolCall.message_id).in_([m.id for m in messages]))
        .order_by(col(ToolCall.message_id), col(ToolCall.position))
    ).all()
    calls_by_message: dict[str, list[ToolCall]] = {}
    for call in calls:
        calls_by_message.setdefault(call.message_id, []).append(call)
    return [MessagePublic.from_row(m, calls_by_message.get(m.id, [])) for m in messages]


def set_feedback(*, session: Session, message_id: str, score: int, reason: str, owner: str | None = None) -> None:
    """One UPDATE: a message deleted a moment ago, or in another owner's conversation, is a 404."""
    visible = select(Conversation.id).where(*_owned_by(owner))
    statement = (
        update(Message)
        .where(col(Message.id) == message_id, col(Message.conversation_id).in_(visible))
        .values(feedback_score=score, feedback_reason=reason, updated_at=utcnow())
    )
    if not session.exec(statement).rowcount:  # type: ignore[call-overload]
        raise NotFoundError(f"message {message_id!r} not found")
    session.commit()


# A chat turn's own reads and writes are SQLAlchemy Core statements on the
# session's connection: no ORM objects, identity map or flush for the rows
# every turn writes (they run on the event loop, see Database.atransact).
_conversations = Conversation.__table__
_messages = Message.__table__

# Built once: each turn only binds its values.
_OWNER_AND_TITLE = select(_conversations.c.owner, _conversations.c.title).where(
    _conversations.c.id == bindparam("conversation_id")
)
_BY_CLIENT_ID = select(_conversations.c.id, _conversations.c.title).where(
    _conversations.c.owner == bindparam("owner"), _conversations.c.client_id == bindparam("client_id")
)
_INSERT_CONVERSATION = insert(_conversations)
_TOUCH_CONVERSATION = update(_conversations).where(_conversations.c.id == bindparam("conversation_id"))
_INSERT_MESSAGE = insert(_messages)
# History reads only the two columns it needs: no metadata JSON decoded, no row objects.
# An answer that failed before its first token has nothing for the model to read, and
# one still being written is not history yet.
_LATEST_HISTORY = (
    select(_messages.c.role, _messages.c.content)
    .where(
        _messages.c.conversation_id == bindparam("conversation_id"),
        _messages.c.role.in_(("user", "assistant")),
        _messages.c.content != "",
        _messages.c.status.not_in(LIVE_STATUSES),
    )
    .order_by(_messages.c.seq.desc())
    .limit(bindparam("limit"))
)


class Found(NamedTuple):
    id: str  # the id the conversation is kept under
    title: str


def find_conversation(*, session: Session, conversation_id: str, owner: str | None = None) -> Found | None:
    """The caller's conversation `conversation_id`, or None if the caller has none.

    A client may choose its conversations' ids, so another key may have taken
    one first: the caller's own conversation is then kept under an id of
    ours with the client's beside it, and the client's id still finds it.
    """
    connection = session.connection()
    row = connection.execute(_OWNER_AND_TITLE, {"conversation_id": conversation_id}).first()
    if row is not None and (owner is None or row.owner == owner):
        return Found(conversation_id, row.title)
    if owner is None:
        return None
    mine = connection.execute(_BY_CLIENT_ID, {"owner": owner, "client_id": conversation_id}).first()
    return None if mine is None else Found(mine.id, mine.title)


def _stored_id(session: Session, conversation_id: str, owner: str | None) -> str:
    found = find_conversation(session=session, conversation_id=conversation_id, owner=owner)
    if found is None:
        raise _not_found(conversation_id)
    return found.id


def last_turns(*, session: Session, conversation_id: str, turns: int) -> list[tuple[str, str]]:
    """(role, content) of the last `turns` question/answer pairs, oldest first, starting on a question."""
    if turns <= 0:
        return []
    params = {"conversation_id": conversation_id, "limit": 2 * turns}
    rows = [(role, content) for role, content in session.connection().execute(_LATEST_HISTORY, params)]
    rows.reverse()
    while rows and rows[0][0] != "user":
        rows.pop(0)
    return rows


def add_turn_rows(
    *,
    session: Session,
    conversation_id: str | None,
    content: str,
    meta: dict[str, Any],
    title: str = "",
    chat_type: str = "llm_chat",
    owner: str | None = None,
    answer: dict[str, Any] | None = None,
    new: bool = False,
    client_id: str | None = None,
    listed: bool = True,
) -> tuple[str, str]:
    """Save a turn's rows, one commit: the user's message, the answer's row (`answer`),
    and its conversation, created or touched.

    With no `conversation_id` a conversation is created (with `client_id`
    beside our id, if given), and with `new` one with that id (a client's
    own); an untitled one takes its title from the message. `answer` (its
    `id`, `model` and `replica`) is the answer's row, `streaming`; without
    it only the message is saved. A turn that is not `listed` keeps a new conversation out of the
    conversation list; a listed turn lists the conversation it continues.
    Returns (conversation id, message id).
    """
    connection, now = session.connection(), utcnow()
    touched: dict[str, Any] = {"updated_at": now}
    if not title:
        touched["title"] = title_from_query(content)
    if listed:
        touched["listed"] = True
    if conversation_id is None or new:
        conversation_id = conversation_id or new_id()
        new_row = {"id": conversation_id, "chat_type": chat_type, "owner": owner, "created_at": now}
        new_row |= {"client_id": client_id, "listed": listed}
        connection.execute(_INSERT_CONVERSATION, new_row | touched)
    elif not connection.execute(_TOUCH_CONVERSATION, {"conversation_id": conversation_id} | touched).rowcount:
        raise _not_found(conversation_id)  # deleted since it was read: nothing is written
    message_id = new_id()
    message = {
        "id": message_id,
        "conversation_id": conversation_id,
        "role": "user",
        "content": content,
        "status": "complete",
        "metadata": meta,
        "created_at": now,
        "updated_at": now,
    }
    rows = [message]
    if answer is not None:  # one INSERT of both rows: they need the same columns
        message.update(model=None, last_seq=None, replica=None)
        pending = {"role": "assistant", "content": "", "status": "streaming", "metadata": {}, "last_seq": -1}
        rows.append({**message, **pending, **answer})
    connection.execute(_INSERT_MESSAGE, rows)
    session.commit()
    return conversation_id, message_id
