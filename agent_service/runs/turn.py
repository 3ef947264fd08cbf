"""A chat turn's bookkeeping: what is written before the model is called, and
the outcome its stream leaves for the final save.

Order (DESIGN.md): the user message and the answer's row (status
`streaming`) are saved, in one transaction, before the model is called; the
live run (`runs.live`) checkpoints the answer and saves it final when its
stream ends: `complete`, `partial`, `error` or `interrupted`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from agent_service.db import crud
from agent_service.db.models import ToolCall, new_id
from agent_service.errors import ServiceError
from agent_service.memory import DatabaseChatMessageHistory
from agent_service.runs.approvals import ApprovalGate


@dataclass
class Outcome:
    """How an answer ended, as the row will keep it."""

    content: str
    status: str
    meta: dict[str, Any]
    tool_calls: Sequence[ToolCall] = ()


@dataclass
class Turn:
    conversation_id: str
    user_message_id: str
    model_name: str
    history: list[BaseMessage]
    request: dict[str, Any]
    owner: str | None = None
    message_id: str = field(default_factory=new_id)  # the answer's id
    stop_reason: str = "client_disconnected"  # why the stream is cancelled, when it is
    outcome: Outcome | None = None
    approvals: ApprovalGate | None = None  # agent turns: tool calls waiting for a person

    @property
    def ids(self) -> dict[str, str]:
        return {"conversation_id": self.conversation_id, "message_id": self.message_id}

    def finish(self, *, content: str, status: str, meta: dict[str, Any], tool_calls: Sequence[ToolCall] = ()) -> None:
        """Record how the answer ended; the live run saves it."""
        self.outcome = Outcome(content=content, status=status, meta=meta, tool_calls=tool_calls)


CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_conversation_id(conversation_id: str | None) -> None:
    """A conversation id is the service's own or a client's: 1 to 64 letters, digits, `-` or `_`."""
    if conversation_id is not None and not CONVERSATION_ID.fullmatch(conversation_id):
        raise ServiceError(
            "conversation_id must be 1 to 64 letters, digits, '-' or '_'",
            code="invalid_conversation_id",
            param="conversation_id",
        )


def begin_turn(
    *,
    session: Session,
    conversation_id: str | None,
    query: str,
    chat_type: str,
    model_name: str,
    history: list[BaseMessage],
    history_len: int,
    request: dict[str, Any],
    owner: str | None = None,
    replica: str | None = None,
) -> Turn:
    """Resolve the conversation, read its history, then save the user message
    and the answer's `streaming` row.

    History rules (Langchain-Chatchat 0.2): an explicit history wins; else,
    with a conversation and `history_len > 0`, the last `history_len` turns
    come from the database. An unknown `conversation_id` (Chatchat's web UI
    makes its own) starts a conversation with that id, owned by the caller;
    another key's is a 404.
    """
    explicit_history, answer_id = history, new_id()
    for attempt in (1, 2):
        title: str | None = ""
        if conversation_id:
            title = crud.conversation_title(session=session, conversation_id=conversation_id, owner=owner)
            if title is not None and not explicit_history and history_len > 0:
                history = DatabaseChatMessageHistory(session=session, conversation_id=conversation_id).last_turns(
                    history_len
                )
        try:
            conversation_id, user_message_id = crud.add_user_message(
                session=session,
                conversation_id=conversation_id or None,
                new=title is None,  # a client's own id, unknown yet: the conversation starts with it
                content=query,
                meta={"request": request},
                title=title or "",
                chat_type=chat_type,
                owner=owner,
                answer={"id": answer_id, "model": model_name, "replica": replica},
            )
            break
        except IntegrityError:
            if title is not None or attempt == 2:
                raise
            # Another request started a conversation with this id a moment ago: continue it instead.
            session.rollback()
    return Turn(
        conversation_id=conversation_id,
        user_message_id=user_message_id,
        model_name=model_name,
        history=history,
        request=request,
        owner=owner,
        message_id=answer_id,
    )
