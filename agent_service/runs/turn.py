"""A chat turn's bookkeeping: what is written before the model is called, and
the stream that makes its answer and says how it ended (its `Outcome`) for the final save.

Order (README, "What is saved, and when"): the user message and the answer's row (status
`streaming`) are saved, in one transaction, before the model is called; the
live answer (`runs.live`) checkpoints the answer and saves it final when its
stream ends: `complete`, `partial`, `error` or `interrupted`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.messages import BaseMessage
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from agent_service.agents.approvals import ApprovalGate
from agent_service.agents.client_calls import ClientCalls
from agent_service.db import crud
from agent_service.db.models import CONVERSATION_ID, ToolCall, new_id
from agent_service.errors import ServiceError
from agent_service.memory import DatabaseChatMessageHistory
from agent_service.streaming.events import StreamEvent


@dataclass(frozen=True)
class Outcome:
    """How an answer ended, as the row will keep it."""

    content: str
    status: str
    meta: dict[str, Any]
    tool_calls: Sequence[ToolCall] = ()


@dataclass(frozen=True)
class Caller:
    """Who asks for a turn: `owner`, their key's fingerprint (None with keys off), and their address."""

    owner: str | None = None
    address: str = ""

    @property
    def key(self) -> str:
        """What per-caller caps count by: the key, or with keys off the client's address."""
        return self.owner or f"address:{self.address}"


@dataclass
class Turn:
    conversation_id: str
    user_message_id: str
    model_name: str
    history: list[BaseMessage]
    request: dict[str, Any]
    owner: str | None = None
    caller: str | None = None  # `Caller.key`: whose cap the answer counts against
    message_id: str = field(default_factory=new_id)  # the answer's id

    @property
    def ids(self) -> dict[str, str]:
        return {"conversation_id": self.conversation_id, "message_id": self.message_id}


class TurnStream(Protocol):
    """A turn's answer as it is made (`runs.answer`, `runs.agent`): its events, then how it ended.

    The live answer (`runs.live`) iterates `events()`; when they say `done`, `outcome` holds how the
    answer ended; when the live answer stops the stream instead, `interrupted(reason)` makes the
    outcome from what was made so far (None: nothing beyond the text the live answer sent)."""

    @property
    def approvals(self) -> ApprovalGate | None:
        """Agent answers: tool calls that wait for a person."""
        ...

    @property
    def client_calls(self) -> ClientCalls | None:
        """Agent answers with the client's tools: calls that wait for the client."""
        ...

    @property
    def outcome(self) -> Outcome | None: ...

    @property
    def waiting(self) -> bool:
        """Whether the answer waits for someone: a person's decision, or the client's tool results."""
        ...

    def events(self) -> AsyncGenerator[StreamEvent, None]: ...

    def interrupted(self, reason: str) -> Outcome | None: ...


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
    listed: bool = True,
    question_meta: dict[str, Any] | None = None,
) -> Turn:
    """Resolve the conversation, read its history, then save the user message
    (with `question_meta` beside the request) and the answer's `streaming` row.

    History rules (Langchain-Chatchat 0.2): an explicit history wins; else,
    with a conversation and `history_len > 0`, the last `history_len` turns
    come from the database. An unknown `conversation_id` (Chatchat's web UI
    makes its own) starts a conversation with that id, owned by the caller;
    if another key holds that id, the caller's own conversation starts under
    an id of ours, and the client's id keeps finding it.
    """
    explicit_history, answer_id, requested = history, new_id(), conversation_id or None
    for attempt in (1, 2, 3):
        found = None
        if requested:
            found = crud.find_conversation(session=session, conversation_id=requested, owner=owner)
            if found is not None and not explicit_history and history_len > 0:
                history = DatabaseChatMessageHistory(session=session, conversation_id=found.id).last_turns(history_len)
        # A client's own id, unknown to this caller: the conversation starts with it, or,
        # if another key took it first (the insert failed), with ours and theirs beside it.
        namespaced = requested is not None and found is None and owner is not None and attempt > 1
        try:
            stored_id, user_message_id = crud.add_turn_rows(
                session=session,
                conversation_id=found.id if found else None if namespaced else requested,
                new=found is None and not namespaced,
                client_id=requested if namespaced else None,
                content=query,
                meta={"request": request, **(question_meta or {})},
                title=found.title if found else "",
                chat_type=chat_type,
                owner=owner,
                listed=listed,
                answer={"id": answer_id, "model": model_name, "replica": replica},
            )
            break
        except IntegrityError:
            # Another request started a conversation with this id a moment ago: look again.
            session.rollback()
            if found is not None or attempt == 3:
                raise
    return Turn(
        conversation_id=stored_id,
        user_message_id=user_message_id,
        model_name=model_name,
        history=history,
        request=request,
        owner=owner,
        message_id=answer_id,
    )
