"""SQLModel tables and their public shapes.

A conversation holds messages; an assistant message made by the agent holds
its tool calls, one row per call, in order. Ids are 32-char hex strings, the
form Langchain-Chatchat clients send back in feedback.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Column, Index, Text, true
from sqlmodel import Field, SQLModel

MessageStatus = Literal["streaming", "requires_action", "complete", "partial", "error", "interrupted"]
LIVE_STATUSES = ("streaming", "requires_action")  # an answer still being written
Role = Literal["user", "assistant", "system"]
# A conversation's id: the service's own, or one a client chose.
CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class ConversationBase(SQLModel):
    title: str = Field(default="", max_length=200)
    chat_type: str = Field(default="llm_chat", max_length=32)


class Conversation(ConversationBase, table=True):
    __table_args__ = (Index("ix_conversation_owner_client_id", "owner", "client_id", unique=True),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)  # ours, or a client's own
    # A fingerprint of the API key that created it; None when auth was off.
    owner: str | None = Field(default=None, index=True, max_length=64)
    # The id the client chose, when another key already held it as an id: the
    # conversation is then kept under one of ours (`crud.find_conversation`).
    client_id: str | None = Field(default=None, max_length=64)
    # False: kept out of the conversation list (an OpenAI client's turn with `store: false`).
    listed: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)


class ConversationPublic(ConversationBase):
    id: str
    client_id: str | None = None
    created_at: datetime
    updated_at: datetime


class Message(SQLModel, table=True):
    # `seq` orders messages; `id` is the public identifier.
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(default_factory=new_id, unique=True, max_length=32)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=64)
    role: str = Field(max_length=16)
    content: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default="complete", max_length=16, index=True)
    model: str | None = Field(default=None, max_length=200)
    # Error, reason, usage, finish reason, the raw request and a response summary.
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    feedback_score: int | None = None
    feedback_reason: str | None = Field(default=None, sa_column=Column(Text))
    # An answer's events (`runs.journal`'s stored form) and the `seq` of its last one.
    events: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    last_seq: int | None = None
    replica: str | None = Field(default=None, max_length=64)  # the process writing a live answer
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ToolCall(SQLModel, table=True):
    __tablename__ = "tool_call"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(foreign_key="message.id", index=True, max_length=32)
    position: int  # order of the call within its message
    run_id: str | None = Field(default=None, max_length=64)
    tool: str = Field(max_length=200)
    input: Any = Field(default=None, sa_column=Column(JSON))
    output: str | None = Field(default=None, sa_column=Column(Text))
    error: str | None = Field(default=None, sa_column=Column(Text))
    started_at: datetime | None = None
    ended_at: datetime | None = None
    # A call that waited for a person: approved, denied or timed_out; why, by whom (key fingerprint), when.
    approval: str | None = Field(default=None, max_length=16)
    approval_reason: str | None = Field(default=None, sa_column=Column(Text))
    approval_by: str | None = Field(default=None, max_length=64)
    approval_at: datetime | None = None


class ServiceSecret(SQLModel, table=True):
    """A secret of the service's own, made once and shared by its replicas (in the database)."""

    __tablename__ = "service_secret"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=128)


class ToolCallPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    run_id: str | None
    tool: str
    input: Any
    output: str | None
    error: str | None
    started_at: datetime | None
    ended_at: datetime | None
    approval: str | None = None
    approval_reason: str | None = None
    approval_by: str | None = None
    approval_at: datetime | None = None


class MessagePublic(BaseModel):
    id: str
    conversation_id: str
    role: str
    content: str
    status: str
    model: str | None
    metadata: dict[str, Any]
    feedback_score: int | None
    feedback_reason: str | None
    created_at: datetime
    updated_at: datetime
    tool_calls: list[ToolCallPublic] = []

    @classmethod
    def from_row(cls, message: Message, tool_calls: list[ToolCall]) -> MessagePublic:
        return cls(
            **message.model_dump(exclude={"meta", "seq", "events", "last_seq", "replica"}),
            metadata=message.meta,
            tool_calls=[ToolCallPublic.model_validate(call) for call in tool_calls],
        )
