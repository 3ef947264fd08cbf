"""The request body of `POST /v1/chat/completions`: OpenAI's fields, plus the
extensions that reach the service's own powers (DB-GPT's names):

- `chat_mode`: `chat_normal` (default), `chat_knowledge` (`chat_param` names
  the knowledge base), `chat_agent` (`chat_param` optionally lists the tools);
- `conversation_id`: continue a stored conversation, its history read from
  the database.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_service.api.openapi import NAMES, SEPARATOR
from agent_service.api.schemas import (
    MAX_ANSWER_TOKENS,
    MAX_QUERY_CHARS,
    ConversationId,
    ModelName,
    NullMeansDefault,
)
from agent_service.knowledge.names import KB_NAME_MAX_CHARS, NAME_PATTERN, NOT_BLANK

ChatMode = Literal["chat_normal", "chat_knowledge", "chat_agent"]

# The route takes the *last* message as the question: the user's, with text. JSON Schema
# cannot single out an array's last item; what it can say follows from the rule: some
# user message has text (a string, or parts of which one has text).
A_USER_MESSAGE_WITH_TEXT = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"const": "user"},
        "content": {
            "anyOf": [
                {"type": "string", "pattern": NOT_BLANK},
                {"type": "array", "contains": {"required": ["text"], "properties": {"text": {"pattern": NOT_BLANK}}}},
            ]
        },
    },
}


def _in_mode(mode: str, then: dict[str, Any]) -> dict[str, Any]:
    return {"if": {"required": ["chat_mode"], "properties": {"chat_mode": {"const": mode}}}, "then": then}


# What chat_param (and stop) must be in each chat mode, as `_start` in api.openai_chat checks them.
RULES_BY_MODE = [
    _in_mode(
        "chat_knowledge",
        {
            "required": ["chat_param"],
            "properties": {
                "chat_param": {"type": "string", "pattern": NAME_PATTERN, "maxLength": KB_NAME_MAX_CHARS},
            },
        },
    ),
    _in_mode(
        "chat_agent",
        {
            "properties": {
                "chat_param": {
                    "anyOf": [
                        {"type": "null"},
                        {"type": "array", "items": {"type": "string", NAMES: "tools"}},
                        {"type": "string", NAMES: "tools", SEPARATOR: ","},
                    ]
                },
                "stop": {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]},
            }
        },
    ),
]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text"] = Field(description="Only text parts: images and audio are not supported.")
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


NoClientTools = Annotated[list[Any], Field(json_schema_extra={"maxItems": 0})]


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(NullMeansDefault):
    model_config = ConfigDict(json_schema_extra={"allOf": RULES_BY_MODE})

    model: ModelName = Field(min_length=1, description="A configured model (GET /v1/models).")
    messages: list[ChatMessage] = Field(
        min_length=1,
        description="The conversation; the last message is the user's, with text.",
        json_schema_extra={"contains": A_USER_MESSAGE_WITH_TEXT},
    )
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1, le=MAX_ANSWER_TOKENS)
    max_completion_tokens: int | None = Field(
        None, ge=1, le=MAX_ANSWER_TOKENS, description="OpenAI's newer name for max_tokens."
    )
    stop: str | Annotated[list[str], Field(json_schema_extra={"maxItems": 4})] | None = Field(
        None, description="Up to 4 sequences that end the answer."
    )
    n: int = Field(1, ge=1, le=1, description="Only one choice per request.")
    chat_mode: ChatMode = "chat_normal"
    chat_param: str | list[str] | None = Field(
        None, description="chat_knowledge: the knowledge base; chat_agent: the allowed tools (list or comma-separated)."
    )
    conversation_id: ConversationId | None = Field(
        None,
        max_length=64,
        description="Continue this stored conversation, or start one with this id (1-64 of A-Z a-z 0-9 _ -).",
    )
    tools: NoClientTools | None = Field(
        None, description="Not supported: the service's own tools run in chat_agent mode."
    )
    functions: NoClientTools | None = Field(None, description="Not supported, like `tools`.")

    @field_validator("tools", "functions")
    @classmethod
    def _no_client_tools(cls, value: list[Any] | None) -> None:
        if value:
            raise ValueError("client-side tools are not supported; chat_mode chat_agent runs the service's own tools")
        return None

    @field_validator("messages")
    @classmethod
    def _ends_with_a_question(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        last = messages[-1]
        if last.role != "user":
            raise ValueError(f"the last message must be the user's, not the {last.role}'s")
        if not last.text.strip():
            raise ValueError("the last user message is empty")
        if sum(len(m.text) for m in messages) > 10 * MAX_QUERY_CHARS:
            raise ValueError("the messages are too long")
        return messages

    @field_validator("stop")
    @classmethod
    def _at_most_four(cls, stop: str | list[str] | None) -> list[str] | None:
        stops = [stop] if isinstance(stop, str) else stop
        if stops is not None and len(stops) > 4:
            raise ValueError("at most 4 stop sequences")
        return stops or None

    @field_validator("conversation_id")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def query(self) -> str:
        return self.messages[-1].text

    @property
    def system(self) -> str | None:
        parts = [m.text for m in self.messages if m.role in ("system", "developer") and m.text.strip()]
        return "\n\n".join(parts) or None

    @property
    def history(self) -> list[dict[str, str]]:
        """The turns before the question (system messages go apart)."""
        return [{"role": m.role, "content": m.text} for m in self.messages[:-1] if m.role in ("user", "assistant")]

    @property
    def tool_names(self) -> list[str] | None:
        if self.chat_param is None:
            return None
        names = self.chat_param if isinstance(self.chat_param, list) else self.chat_param.split(",")
        return [name.strip() for name in names if name.strip()]
