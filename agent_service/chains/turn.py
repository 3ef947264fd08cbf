"""A chat turn's bookkeeping: the writes before the model is called and the
one write after it has answered.

Order (DESIGN.md): the user message is saved before the model is called;
the assistant message is saved once, when its stream ends, whatever the
ending: `complete`, `partial` (cut by max_tokens), `error`, `interrupted`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage
from sqlmodel import Session

from agent_service.db import crud
from agent_service.db.engine import Database
from agent_service.db.models import ToolCall, new_id
from agent_service.memory import DatabaseChatMessageHistory


@dataclass
class Turn:
    conversation_id: str
    user_message_id: str
    model_name: str
    history: list[BaseMessage]
    request: dict[str, Any]
    message_id: str = field(default_factory=new_id)  # the answer's id, known before it exists

    @property
    def ids(self) -> dict[str, str]:
        return {"conversation_id": self.conversation_id, "message_id": self.message_id}


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
) -> Turn:
    """Resolve the conversation, read its history, then save the user message.

    History rules (Langchain-Chatchat 0.2): an explicit history wins; else,
    with a conversation and `history_len > 0`, the last `history_len` turns
    come from the database.
    """
    title = ""
    if conversation_id:
        title = crud.conversation_title(session=session, conversation_id=conversation_id, owner=owner)
        if not history and history_len > 0:
            history = DatabaseChatMessageHistory(session=session, conversation_id=conversation_id).last_turns(
                history_len
            )
    conversation_id, user_message_id = crud.add_user_message(
        session=session,
        conversation_id=conversation_id or None,
        content=query,
        meta={"request": request},
        title=title,
        chat_type=chat_type,
        owner=owner,
    )
    return Turn(
        conversation_id=conversation_id,
        user_message_id=user_message_id,
        model_name=model_name,
        history=history,
        request=request,
    )


async def finish_turn(
    db: Database,
    turn: Turn,
    *,
    content: str,
    status: str,
    meta: dict[str, Any],
    tool_calls: Sequence[ToolCall] = (),
) -> None:
    await db.run(_save_answer, turn=turn, content=content, status=status, meta=meta, tool_calls=tool_calls)


def _save_answer(
    *, session: Session, turn: Turn, content: str, status: str, meta: dict[str, Any], tool_calls: Sequence[ToolCall]
) -> None:
    message = {
        "id": turn.message_id,
        "conversation_id": turn.conversation_id,
        "content": content,
        "status": status,
        "model": turn.model_name,
        "metadata": meta,
    }
    crud.save_assistant_message(session=session, message=message, tool_calls=tool_calls)
