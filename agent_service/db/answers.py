"""The answer row's life after `crud.add_turn_rows` created it `streaming`:
checkpointed while it streams, saved final with its tool calls, marked
interrupted when the process writing it died, and read back for a replay.

Core statements built once, like the other writes of a turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlmodel import Session

from agent_service.db.models import LIVE_STATUSES, Conversation, Message, ToolCall, utcnow
from agent_service.errors import NotFoundError
from agent_service.streaming.journal import tool_call_rows

_messages = Message.__table__
_conversations = Conversation.__table__
_tool_calls = ToolCall.__table__

# The row is only written while it is live: a late checkpoint never overwrites the final save.
# (`or_`, not `in_`: an expanding IN cannot run as one statement for many rows.)
_IS_LIVE = or_(*(_messages.c.status == status for status in LIVE_STATUSES))
_UPDATE_LIVE = update(_messages).where(_messages.c.id == bindparam("answer_id"), _IS_LIVE)
_INSERT_TOOL_CALL = insert(_tool_calls)
_LIVE_ANSWERS = select(_messages.c.id, _messages.c.metadata, _messages.c.events).where(
    _IS_LIVE, _messages.c.role == "assistant"
)
_STORED_ANSWER = (
    select(
        _messages.c.conversation_id,
        _messages.c.content,
        _messages.c.status,
        _messages.c.model,
        _messages.c.metadata,
        _messages.c.events,
        _messages.c.last_seq,
        _messages.c.created_at,
        _conversations.c.owner,
    )
    .join(_conversations, _conversations.c.id == _messages.c.conversation_id)
    .where(_messages.c.id == bindparam("message_id"), _messages.c.role == "assistant")
)


@dataclass
class StoredAnswer:
    message_id: str
    conversation_id: str
    content: str
    status: str
    model: str | None
    meta: dict[str, Any]
    events: list[dict[str, Any]]
    last_seq: int | None
    created_at: Any


def checkpoint(*, session: Session, answers: Sequence[dict[str, Any]]) -> None:
    """Save live answers' progress, one UPDATE each, in one transaction.
    Each: answer_id, content, events, last_seq."""
    now = utcnow()
    session.connection().execute(_UPDATE_LIVE, [{**answer, "updated_at": now} for answer in answers])
    session.commit()


def save_final(
    *,
    session: Session,
    answer_id: str,
    content: str,
    status: str,
    meta: dict[str, Any],
    events: list[dict[str, Any]],
    last_seq: int,
    tool_calls: Sequence[ToolCall] = (),
) -> None:
    """The answer as it ended, with its tool calls."""
    connection = session.connection()
    values = {
        "answer_id": answer_id,
        "content": content,
        "status": status,
        "metadata": meta,
        "events": events,
        "last_seq": last_seq,
        "updated_at": utcnow(),
    }
    connection.execute(_UPDATE_LIVE, values)
    if tool_calls:
        rows = [call.model_dump(exclude={"id"}) | {"message_id": answer_id} for call in tool_calls]
        connection.execute(_INSERT_TOOL_CALL, rows)
    session.commit()


def interrupt_orphaned(
    *, session: Session, replicas: Sequence[str] | None = None, reason: str = "server_crash"
) -> list[str]:
    """Answers left live by a process that is gone (by any, or by one of `replicas`)
    become `interrupted` with their last checkpoint, `reason` in their metadata and
    their tool calls so far."""
    connection = session.connection()
    query = _LIVE_ANSWERS if replicas is None else _LIVE_ANSWERS.where(_messages.c.replica.in_(list(replicas)))
    orphans = connection.execute(query).all()
    for answer_id, meta, events in orphans:
        values = {"answer_id": answer_id, "status": "interrupted", "metadata": {**meta, "reason": reason}}
        connection.execute(_UPDATE_LIVE, {**values, "updated_at": utcnow()})
        if calls := tool_call_rows(events or [], open_error=reason):
            connection.execute(_INSERT_TOOL_CALL, [call | {"message_id": answer_id} for call in calls])
    session.commit()
    return [answer_id for answer_id, _, _ in orphans]


def stored_answer(*, session: Session, message_id: str, owner: str | None) -> StoredAnswer:
    """An answer the caller may see, as the database has it; NotFoundError otherwise."""
    row = session.connection().execute(_STORED_ANSWER, {"message_id": message_id}).first()
    if row is None or (owner is not None and row.owner != owner):
        raise NotFoundError(f"message {message_id!r} not found")
    return _stored(message_id, row)


def _stored(message_id: str, row: Any) -> StoredAnswer:
    return StoredAnswer(
        message_id=message_id,
        conversation_id=row.conversation_id,
        content=row.content,
        status=row.status,
        model=row.model,
        meta=row.metadata or {},
        events=row.events or [],
        last_seq=row.last_seq,
        created_at=row.created_at,
    )


def listed_answers(
    *,
    session: Session,
    owner: str | None,
    limit: int,
    after: str | None = None,
    newest_first: bool = False,
    model: str | None = None,
) -> list[StoredAnswer]:
    """Finished answers of the caller's listed conversations, in the order they were made,
    from just after the answer `after`; at most `limit`."""
    query = (
        select(*_STORED_ANSWER.selected_columns, _messages.c.id.label("answer_id"))
        .join(_conversations, _conversations.c.id == _messages.c.conversation_id)
        .where(_messages.c.role == "assistant", _conversations.c.listed, ~_IS_LIVE)
    )
    if owner is not None:
        query = query.where(_conversations.c.owner == owner)
    if model is not None:
        query = query.where(_messages.c.model == model)
    if after is not None:
        mark = select(_messages.c.seq).where(_messages.c.id == after).scalar_subquery()
        query = query.where(_messages.c.seq < mark if newest_first else _messages.c.seq > mark)
    query = query.order_by(_messages.c.seq.desc() if newest_first else _messages.c.seq).limit(limit)
    return [_stored(row.answer_id, row) for row in session.connection().execute(query)]


def tool_call_approval(*, session: Session, message_id: str, run_id: str) -> str | None:
    """How a saved tool call's approval was decided; None if it never waited for one."""
    query = select(_tool_calls.c.approval).where(_tool_calls.c.message_id == message_id, _tool_calls.c.run_id == run_id)
    return session.connection().execute(query).scalar()


def replicas_writing(*, session: Session) -> list[str]:
    """The replicas that have live answers in the database."""
    query = select(_messages.c.replica).where(_IS_LIVE, _messages.c.replica.is_not(None)).distinct()
    return list(session.connection().execute(query).scalars())
