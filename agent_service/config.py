"""Settings: one pydantic-settings class, read once and passed in.

Sources, strongest first: keyword arguments, `AGENT_SERVICE_*` environment
variables (nested delimiter `__`, complex values as JSON), a YAML file named
by `AGENT_SERVICE_CONFIG`, then the defaults below.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

AgentStyle = Literal["tool_calling", "react", "glm3"]
# The models that ship in Python packages (agent_service.llm.embedded).
EmbeddedModelName = Literal["qwen2.5-coder-1.5b", "smollm2-135m"]


class ModelConfig(BaseModel):
    """One chat model the service can use, chosen per request by its name."""

    provider: Literal["openai", "llamacpp", "fake"] = "openai"
    model: str | None = None  # upstream model id (defaults to the registry name); llamacpp: an embedded model
    base_url: str | None = None
    api_key: str | None = None
    agent_style: AgentStyle | None = None  # inferred when unset (see effective_agent_style)
    context_window: int = 8192  # tokens; history is trimmed to fit
    timeout: float = 300.0
    # Retries of a failed request (connection error, 408, 409, 429, 5xx) before the
    # first token, with the SDK's back-off; an answer that fails mid-stream is not retried.
    max_retries: int = Field(2, ge=0, le=10)
    max_temperature: float | None = None  # cap for small local models
    # The request field that carries an answer's token limit. OpenAI's own API wants
    # max_completion_tokens (its reasoning models refuse max_tokens); Ollama's and
    # llama.cpp's servers read only max_tokens and silently ignore the other. Unset:
    # max_completion_tokens for OpenAI's API (no base_url), max_tokens for any other server.
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] | None = None
    model_path: str | None = None  # llamacpp: a GGUF file; default: the embedded model (`model`, else the setting)
    n_threads: int | None = None
    responses: list[str] = Field(default_factory=list)  # fake: scripted replies, cycled

    @model_validator(mode="after")
    def _known_embedded_model(self) -> ModelConfig:
        embedded = get_args(EmbeddedModelName)
        if self.provider == "llamacpp" and not self.model_path and self.model and self.model not in embedded:
            raise ValueError(f"model {self.model!r}: a llamacpp model is one of {', '.join(embedded)} or a model_path")
        return self

    def effective_max_tokens_field(self) -> str:
        return self.max_tokens_field or ("max_completion_tokens" if self.base_url is None else "max_tokens")

    def effective_agent_style(self, name: str) -> AgentStyle:
        if self.agent_style:
            return self.agent_style
        if "chatglm3" in (self.model or name).lower():
            return "glm3"
        return "tool_calling" if self.provider == "openai" else "react"


class McpServerConfig(BaseModel):
    """An MCP server whose tools the agent may call."""

    transport: Literal["stdio", "streamable_http"]
    command: str | None = None  # stdio: the program, started and kept running by the service
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] | None = None
    url: str | None = None  # streamable_http
    headers: dict[str, str] = Field(default_factory=dict)
    tools: list[str] | None = None  # an allow-list of the server's tool names; None: all
    timeout: float | None = Field(None, gt=0)  # seconds per call; default: the setting tool_timeout
    requires_approval: bool = False

    @model_validator(mode="after")
    def _has_an_address(self) -> McpServerConfig:
        if self.transport == "stdio" and not self.command:
            raise ValueError("a stdio MCP server needs a command")
        if self.transport == "streamable_http" and not self.url:
            raise ValueError("a streamable_http MCP server needs a url")
        return self


class RelevanceCalibration(BaseModel):
    """How one embedding model's cosine similarities become relevance (see `agent_service.knowledge.fusion`)."""

    cosine_midpoint: float  # the cosine at which a chunk holding no query term scores 0.5
    cosine_scale: float = Field(gt=0)  # how far cosine must move to change the score's log-odds by 1
    keyword_weight: float = Field(ge=0)  # what holding every query term is worth, in cosine


class EmbeddingsConfig(BaseModel):
    provider: Literal["local", "openai", "fake"] = "local"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    # Unset: the calibration measured for this model, else all-MiniLM-L6-v2's (bench/kb_quality.py measures one).
    relevance: RelevanceCalibration | None = None


class RerankerConfig(BaseModel):
    """A `/rerank` endpoint (vLLM, HF TEI, Infinity, Jina): query and documents in, a score per document out."""

    base_url: str
    model: str | None = None
    api_key: str | None = None
    top_n: int = Field(20, ge=1, le=100)  # fused candidates sent to it per query
    timeout: float = Field(10.0, gt=0)  # seconds; on a timeout or failure the fused order stands


def _default_models() -> dict[str, ModelConfig]:
    return {"local": ModelConfig(provider="llamacpp", context_window=4096, max_temperature=0.3)}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AGENT_SERVICE_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    data_dir: Path = Path("./data")
    kb_root: Path = Path("./knowledge_base")
    database_url: str | None = None  # default: SQLite file in data_dir
    models: dict[str, ModelConfig] = Field(default_factory=_default_models)
    default_model: str | None = None  # default: the first model
    # What a `llamacpp` model runs when it names no GGUF file and no embedded model.
    embedded_model: EmbeddedModelName = "qwen2.5-coder-1.5b"
    embeddings: EmbeddingsConfig = Field(default_factory=EmbeddingsConfig)
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    chroma_url: str | None = None  # a Chroma server; default: embedded Chroma under each base
    redis_url: str | None = None  # live answers shared by replicas; default: in this process
    replica_timeout: float = Field(15.0, gt=0)  # seconds without a heartbeat before a replica counts as dead
    kb_max_file_mb: float = 50
    # Request bodies: an upload (multipart, every file of it) and any other (JSON) body.
    max_request_mb: float = Field(200, gt=0)
    max_json_request_mb: float = Field(8, gt=0)
    # A vector match below this cosine similarity is not relevant (keyword matches always are).
    kb_min_similarity: float = 0.25  # all-MiniLM-L6-v2: unrelated text scores below 0.15, related above 0.3
    reranker: RerankerConfig | None = None  # reorders (and scores) the fused candidates of every search
    tools_dir: Path = Path("./tools")
    prompts_dir: Path = Path("./prompts")
    host: str = "127.0.0.1"
    port: int = 7861
    # Host names the service answers to besides loopback ones and `host` ("*": any); a loopback
    # service refuses others, so a web page cannot reach it by DNS rebinding.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Answers: what a client's disconnect does by default, and how long a
    # shutdown waits for streaming answers before it interrupts them.
    on_disconnect: Literal["cancel", "continue"] = "cancel"
    shutdown_grace: float = Field(10.0, ge=0)  # seconds
    # Answers that go on after their client leaves (`continue`) one caller (an API key; with keys
    # off, a client address) may have running at once in a process.
    max_live_answers_per_caller: int = Field(8, ge=1)
    # /v1 turns that do not say `store` are kept out of the conversation list, as OpenAI keeps
    # completions without `store` out of its list (a client's title and tag calls would flood it).
    openai_store_default: bool = False

    # Agent limits.
    agent_max_iterations: int = 6
    agent_max_execution_time: float = 120.0  # seconds
    tool_timeout: float = 30.0  # seconds, per tool call
    # Tools that wait for a person's approval before they run (besides modules and
    # MCP servers that ask for it), and how long they wait before it counts as a no.
    tools_requiring_approval: Annotated[list[str], NoDecode] = Field(default_factory=list)
    tool_approval_timeout: float = Field(600.0, gt=0)  # seconds
    # An agent turn that called the client's own tools (/v1 chat_agent with `tools`) waits this long
    # for the client's next request with the results, then goes on without them.
    client_tool_timeout: float = Field(600.0, gt=0)  # seconds
    mcp_servers: dict[str, McpServerConfig] = Field(default_factory=dict)  # name -> server

    # sql_query tool: a read-only view of a database the operator chooses.
    sql_tool_url: str | None = None
    sql_tool_max_rows: int = 50

    @field_validator("api_keys", "tools_requiring_approval", "allowed_hosts", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.models:
            raise ValueError("at least one model must be configured")
        if self.default_model is None:
            self.default_model = next(iter(self.models))
        elif self.default_model not in self.models:
            raise ValueError(f"default_model {self.default_model!r} is not one of the configured models")
        if self.database_url is None:
            self.database_url = f"sqlite:///{(self.data_dir / 'agent_service.db').resolve()}"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("AGENT_SERVICE_CONFIG")
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
