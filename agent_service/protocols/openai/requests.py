"""The request body of `POST /v1/chat/completions`: OpenAI's fields, plus the
extensions that reach the service's own powers (DB-GPT's names).

In the default mode the request is OpenAI's: the client's `tools` (and the
legacy `functions`), `tool_choice`, tool messages, `response_format` and the
sampling fields go to the model as they are (`model_messages`,
`model_options`); the model's tool calls come back for the client to run.
A field the service cannot honour is a 400 that names it, never dropped.
Extensions:

- `chat_mode`: `chat_normal` (default), `chat_knowledge` (`chat_param` names
  the knowledge base), `chat_agent` (`chat_param` optionally lists the tools);
- `conversation_id`: continue a stored conversation, its history read from
  the database.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent_service.errors import ServiceError
from agent_service.knowledge.names import KB_NAME_MAX_CHARS, NAME_PATTERN, NOT_BLANK
from agent_service.protocols.chatchat.requests import (
    MAX_ANSWER_TOKENS,
    MAX_QUERY_CHARS,
    ConversationId,
    ModelName,
    NullMeansDefault,
)
from agent_service.protocols.schema_marks import NAMES, SEPARATOR


class UnsupportedField(ServiceError):
    """A 400 in OpenAI's shape that names a field the service does not honour."""

    def __init__(self, field: str, message: str | None = None) -> None:
        super().__init__(
            message or f"{field} is not supported by this service (the README lists every field and what it does)",
            code="unsupported_parameter",
            param=field,
        )


ChatMode = Literal["chat_normal", "chat_knowledge", "chat_agent"]


# The route answers the *last* message: the user's (with text), a tool result, or the
# assistant's (to go on). JSON Schema cannot single out an array's last item; what it can
# say follows from the rule: some message is one of those, and a tool result names its call.
SOMETHING_TO_ANSWER = {
    "anyOf": [
        {
            "type": "object",
            "required": ["role", "content"],
            "properties": {
                "role": {"const": "user"},
                "content": {
                    "anyOf": [
                        {"type": "string", "pattern": NOT_BLANK},
                        {
                            "type": "array",
                            "contains": {"required": ["text"], "properties": {"text": {"pattern": NOT_BLANK}}},
                        },
                    ]
                },
            },
        },
        {"type": "object", "required": ["role"], "properties": {"role": {"enum": ["assistant", "tool"]}}},
    ]
}
TOOL_RESULTS_NAME_THEIR_CALL = {
    "if": {"required": ["role"], "properties": {"role": {"const": "tool"}}},
    "then": {"required": ["tool_call_id"], "properties": {"tool_call_id": {"type": "string"}}},
}


def _in_mode(mode: str, then: dict[str, Any]) -> dict[str, Any]:
    return {"if": {"required": ["chat_mode"], "properties": {"chat_mode": {"const": mode}}}, "then": then}


# The client's tools go with chat_normal and chat_agent, not with chat_knowledge.
NO_CLIENT_TOOLS = {
    name: {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]} for name in ("tools", "functions")
}

# What chat_param (and stop) must be in each chat mode, as `_start` in api.openai_chat checks them.
RULES_BY_MODE = [
    _in_mode(
        "chat_knowledge",
        {
            "required": ["chat_param"],
            "properties": {
                "chat_param": {"type": "string", "pattern": NAME_PATTERN, "maxLength": KB_NAME_MAX_CHARS},
                **NO_CLIENT_TOOLS,
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


class FunctionCall(BaseModel):
    name: str
    arguments: str = Field(description="The arguments, as JSON text.")


class MessageToolCall(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[MessageToolCall] | None = Field(
        None, description="assistant: the tools it asked the client to call."
    )
    tool_call_id: str | None = Field(None, description="tool: the call this is the result of.")

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""

    def langchain(self) -> BaseMessage:
        if self.role in ("system", "developer"):
            return SystemMessage(self.text)
        if self.role == "user":
            return HumanMessage(self.text, **({"name": self.name} if self.name else {}))
        if self.role == "tool":
            return ToolMessage(self.text, tool_call_id=self.tool_call_id or "")
        calls = [
            {"name": call.function.name, "args": _arguments(call.function.arguments), "id": call.id}
            for call in self.tool_calls or []
        ]
        return AIMessage(self.text, tool_calls=calls)


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {"__raw__": text}  # kept, not lost: the model sees what it wrote
    return value if isinstance(value, dict) else {"value": value}


class FunctionDefinition(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ClientTool(BaseModel):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    type: Literal["function"] = "function"
    function: NamedFunction


class JsonSchemaFormat(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_with_its_type(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format of type json_schema needs json_schema: {name, schema}")
        return self

    def openai(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(NullMeansDefault):
    model_config = ConfigDict(json_schema_extra={"allOf": RULES_BY_MODE})

    model: ModelName = Field(min_length=1, description="A configured model (GET /v1/models).")
    messages: list[ChatMessage] = Field(
        min_length=1,
        description="The conversation; it ends with the user's message, a tool result, or the assistant's (to go on).",
        json_schema_extra={"contains": SOMETHING_TO_ANSWER, "items": TOOL_RESULTS_NAME_THEIR_CALL},
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
    tools: list[ClientTool] | None = Field(
        None, description="The client's function tools: the model may ask the client to call them."
    )
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    functions: list[FunctionDefinition] | None = Field(None, description="Legacy: like `tools`.")
    function_call: Literal["none", "auto"] | NamedFunction | None = Field(
        None, description="Legacy: like `tool_choice`."
    )
    response_format: ResponseFormat | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    logit_bias: dict[str, Annotated[float, Field(ge=-100, le=100)]] | None = None
    user: str | None = Field(None, max_length=256)
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    store: bool | None = Field(
        None, description="Keep the turn in the conversation list and GET /v1/chat/completions (default: a setting)."
    )
    metadata: dict[str, str] | None = Field(None, description="Accepted; not kept.")
    # OpenAI fields the service cannot honour: a 400 that names them (_refuse_unsupported).
    logprobs: bool | None = None
    top_logprobs: int | None = None
    audio: dict[str, Any] | None = None
    modalities: list[str] | None = None
    prediction: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _refuse_unsupported(self) -> ChatCompletionRequest:
        refused = {
            "logprobs": self.logprobs is True,
            "top_logprobs": self.top_logprobs is not None and self.top_logprobs > 0,
            "audio": self.audio is not None,
            "modalities": bool(self.modalities and set(self.modalities) != {"text"}),
            "prediction": self.prediction is not None,
            "web_search_options": self.web_search_options is not None,
        }
        if field := next((name for name, wanted in refused.items() if wanted), None):
            raise UnsupportedField(field)
        if (self.tools or self.functions) and self.chat_mode == "chat_knowledge":
            raise UnsupportedField(
                "tools", "the client's tools work in chat_mode chat_normal and chat_agent, not in chat_knowledge"
            )
        return self

    @field_validator("messages")
    @classmethod
    def _ends_with_something_to_answer(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        last = messages[-1]
        if last.role in ("system", "developer"):
            raise ValueError(
                f"the last message must be the user's, a tool result or the assistant's, not the {last.role}'s"
            )
        if last.role == "user" and not last.text.strip():
            raise ValueError("the last user message is empty")
        if any(m.role == "tool" and not m.tool_call_id for m in messages):
            raise ValueError("a tool message needs the tool_call_id of the call it answers")
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
        """What the turn stores as the user's message: the last message's text, or the whole
        last message as JSON when it has none (an assistant's tool calls)."""
        last = self.messages[-1]
        if last.text.strip():
            return last.text
        return json.dumps(last.model_dump(exclude_none=True), ensure_ascii=False)

    @property
    def system(self) -> str | None:
        parts = [m.text for m in self.messages if m.role in ("system", "developer") and m.text.strip()]
        return "\n\n".join(parts) or None

    @property
    def history(self) -> list[dict[str, str]]:
        """The turns before the question (system messages go apart)."""
        return [{"role": m.role, "content": m.text} for m in self.messages[:-1] if m.role in ("user", "assistant")]

    @property
    def is_single_question(self) -> bool:
        """One user question (with system messages at most): a stored conversation may supply the history."""
        return [m.role for m in self.messages if m.role not in ("system", "developer")] == ["user"]

    def model_messages(self, stored_history: list[BaseMessage]) -> list[BaseMessage]:
        """The messages as the model gets them: the client's, as sent; a single question to a
        stored conversation gets that conversation's history before it."""
        messages = [m.langchain() for m in self.messages]
        if not (self.is_single_question and stored_history):
            return messages
        system = [m for m in messages if isinstance(m, SystemMessage)]
        return [*system, *stored_history, messages[-1]]

    def tool_results(self) -> dict[str, str]:
        """The tool results the messages end with (after the last assistant message), by call id."""
        results: dict[str, str] = {}
        for message in reversed(self.messages):
            if message.role != "tool":
                break
            results[message.tool_call_id or ""] = message.text
        return dict(reversed(results.items()))

    def client_tools(self) -> list[dict[str, Any]]:
        tools = [tool.model_dump(exclude_none=True) for tool in self.tools or []]
        legacy = [{"type": "function", "function": f.model_dump(exclude_none=True)} for f in self.functions or []]
        return tools + legacy

    def model_options(self) -> dict[str, Any]:
        """What goes to the model beside the messages (OpenAI's names): tool choice, format, sampling."""
        options: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("seed", "presence_penalty", "frequency_penalty", "logit_bias", "user", "reasoning_effort")
            if getattr(self, name) is not None
        }
        if self.response_format is not None and self.response_format.type != "text":
            options["response_format"] = self.response_format.openai()
        choice = self.tool_choice or self.function_call
        if isinstance(choice, NamedFunction):
            choice = {"type": "function", "function": {"name": choice.name}}
        elif isinstance(choice, NamedToolChoice):
            choice = choice.model_dump()
        if choice is not None and self.client_tools():
            options["tool_choice"] = choice
        if self.parallel_tool_calls is not None and self.client_tools():
            options["parallel_tool_calls"] = self.parallel_tool_calls
        return options

    @property
    def tool_names(self) -> list[str] | None:
        if self.chat_param is None:
            return None
        names = self.chat_param if isinstance(self.chat_param, list) else self.chat_param.split(",")
        return [name.strip() for name in names if name.strip()]
