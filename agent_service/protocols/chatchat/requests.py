"""Request bodies of the chat routes, with Langchain-Chatchat 0.2's fields (also what
the other protocols' requests become: the turn the runs start).

Chatchat clients send every key, with `null` for "not set": a null falls
back to the field's default.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent_service.db.models import CONVERSATION_ID
from agent_service.knowledge.fusion import DEFAULT_SCORE_THRESHOLD
from agent_service.knowledge.names import KB_NAME_MAX_CHARS, NAME_PATTERN, NOT_BLANK
from agent_service.memory import to_langchain
from agent_service.protocols.schema_marks import CHOICES, PROMPTS, one_of

MAX_HISTORY_LEN = 100
OnDisconnect = Literal["cancel", "continue"]
MAX_QUERY_CHARS = 100_000
MAX_HISTORY_CHARS = 400_000  # explicit history, all items: it is kept with the request in the message row
MAX_ANSWER_TOKENS = 1_000_000  # larger than any model's context; a bigger number is a mistake, not a wish

ModelName = Annotated[str, one_of("models")]
# A conversation id as `check_conversation_id` takes it, or empty (for the schema).
ConversationId = Annotated[str, Field(json_schema_extra={"pattern": f"^(?:{CONVERSATION_ID.pattern})?$"})]


class HistoryItem(BaseModel):
    role: Literal["user", "assistant", "human", "ai", "system"]
    content: str = Field(max_length=MAX_QUERY_CHARS)


class NullMeansDefault(BaseModel):
    """Clients send every key, `null` for "not set": a null falls back to the field's default."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


def _prompt_choices(schema: dict[str, Any], model: type[ChatRequestBase]) -> None:
    # The templates are files, known when the schema is served (api.openapi fills this in).
    schema["properties"]["prompt_name"][CHOICES] = PROMPTS + model.prompt_kind


class ChatRequestBase(NullMeansDefault):
    model_config = ConfigDict(json_schema_extra=_prompt_choices)
    prompt_kind: ClassVar[str]  # the folder of prompts/ that `prompt_name` picks a template from

    query: str = Field(
        max_length=MAX_QUERY_CHARS, description="The user's message.", json_schema_extra={"pattern": NOT_BLANK}
    )
    conversation_id: ConversationId | None = Field(
        None,
        description="Continue this conversation; an unknown id (1-64 of A-Z a-z 0-9 _ -) starts one with that id; "
        "empty starts one with a new id.",
    )
    history_len: int = Field(
        -1, ge=-1, le=MAX_HISTORY_LEN, description="Turns of stored history to use when `history` is empty."
    )
    history: list[HistoryItem] = Field(
        default_factory=list,
        max_length=2 * MAX_HISTORY_LEN,
        description="Explicit history; wins over the database. At most "
        f"{MAX_HISTORY_CHARS:,} characters in all (it is stored with the question).",
    )
    stream: bool = False
    model_name: ModelName | Literal[""] | None = Field(None, description="A configured model; empty means the default.")
    temperature: float | None = Field(
        0.7, ge=0.0, le=2.0, description="Chatchat's default is 0.7; None (OpenAI route only) leaves the model's own."
    )
    max_tokens: int | None = Field(
        None, le=MAX_ANSWER_TOKENS, description="Answer length limit; <= 0 or null means the model's own."
    )
    prompt_name: str = Field(
        "default",
        description="A template in prompts/<chat kind>/, by its file name without .jinja2.",
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    top_p: float | None = Field(None, gt=0.0, le=1.0, description="Nucleus sampling; null leaves the model's own.")
    stop: list[str] | None = Field(None, max_length=4, description="Up to 4 sequences that end the answer.")
    system: str | None = Field(None, max_length=MAX_QUERY_CHARS, description="A system message before the history.")
    on_disconnect: OnDisconnect | None = Field(
        None,
        description="When the client goes away: `cancel` stops the answer, `continue` lets it run to its end "
        "(resume it at /chat/messages/{message_id}/events). Default: the setting AGENT_SERVICE_ON_DISCONNECT.",
    )

    @field_validator("query")
    @classmethod
    def _query_has_text(cls, query: str) -> str:
        if not query.strip():
            raise ValueError("query must not be empty")
        return query

    @field_validator("history")
    @classmethod
    def _history_fits(cls, history: list[HistoryItem]) -> list[HistoryItem]:
        if (chars := sum(len(item.content) for item in history)) > MAX_HISTORY_CHARS:
            raise ValueError(f"history holds {chars:,} characters, over the limit of {MAX_HISTORY_CHARS:,}")
        return history

    @field_validator("conversation_id", "model_name")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("max_tokens")
    @classmethod
    def _non_positive_is_unlimited(cls, value: int | None) -> int | None:
        return value if value and value > 0 else None

    def langchain_history(self) -> list[BaseMessage]:
        return [to_langchain(item.role, item.content) for item in self.history]


class ChatRequest(ChatRequestBase):
    prompt_kind = "llm_chat"


class AgentChatRequest(ChatRequestBase):
    prompt_kind = "agent"

    tools: list[Annotated[str, one_of("tools")]] | None = Field(
        None, description="Allow-list of tool names; null means every tool."
    )


class KnowledgeBaseChatRequest(ChatRequestBase):
    prompt_kind = "kb_chat"

    knowledge_base_name: str = Field(json_schema_extra={"pattern": NAME_PATTERN, "maxLength": KB_NAME_MAX_CHARS})
    top_k: int = Field(3, ge=1, le=100)
    score_threshold: float = Field(
        DEFAULT_SCORE_THRESHOLD, ge=0.0, le=1.0, description="Minimum relevance of a source, 0..1, higher is better."
    )
