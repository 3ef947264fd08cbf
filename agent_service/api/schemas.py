"""Request bodies of the service's own routes (feedback, conversations)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from agent_service.knowledge.names import NOT_BLANK


class FeedbackRequest(BaseModel):
    message_id: str = Field(max_length=32)
    score: int = Field(ge=0, le=100, description="0-100, higher is better.")
    reason: str = Field("", max_length=10_000)


class ConversationCreate(BaseModel):
    title: str = Field("", max_length=200)
    chat_type: Literal["llm_chat", "agent_chat", "knowledge_base_chat"] = "llm_chat"


class ConversationRename(BaseModel):
    title: str = Field(min_length=1, max_length=200, json_schema_extra={"pattern": NOT_BLANK})

    @field_validator("title")
    @classmethod
    def _title_has_text(cls, title: str) -> str:
        if not title.strip():
            raise ValueError("title must not be empty")
        return title.strip()
