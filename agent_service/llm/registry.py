"""The model registry: every configured chat model, by name.

One client per model is built on first use and reused, so an upstream's
HTTP connection pool is shared by all requests; per-request parameters
(temperature, max_tokens) go on a shallow copy that shares that client.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from agent_service.config import ModelConfig, Settings
from agent_service.errors import UnknownModelError
from agent_service.llm.embedded import EMBEDDED_MODELS, SMOLLM2, EmbeddedModel
from agent_service.llm.fake import ScriptedChatModel
from agent_service.llm.llamacpp import LlamaCppChatModel
from agent_service.llm.worker_client import ModelWorker
from agent_service.long_lived import freeze_loaded_objects


def build_chat_model(
    name: str,
    config: ModelConfig,
    worker: ModelWorker | None = None,
    *,
    embedded: EmbeddedModel | None = None,  # a llamacpp entry's embedded model (ModelRegistry.embedded)
    cache_dir: Path = Path("data/models"),
) -> BaseChatModel:
    if config.provider == "openai":
        import openai  # imported here: start-up stays fast
        from langchain_openai import ChatOpenAI

        from agent_service.llm.openai_client import DictStreamCompletions

        model = ChatOpenAI(
            model=config.model or name,
            base_url=config.base_url,
            api_key=config.api_key or "EMPTY",  # local servers take any key
            timeout=config.timeout,
            max_retries=config.max_retries,
            streaming=True,
            stream_usage=True,
            # `timeout` (the HTTP read timeout) already bounds an upstream's silence;
            # a per-chunk timer on top would cost a task per token.
            stream_chunk_timeout=None,
            # The registry's own connection pool, not one shared process-wide:
            # it lives and dies with this service (and its event loop). The SDK's
            # aiohttp transport parses the upstream's stream in C: a fifth less CPU
            # per streamed answer than its pure-Python default.
            http_async_client=openai.DefaultAioHttpClient(),
        )
        model.async_client = DictStreamCompletions(
            model.root_async_client, max_tokens_field=config.effective_max_tokens_field()
        )
        return model
    if config.provider == "llamacpp":
        return LlamaCppChatModel(
            worker=worker or ModelWorker(),
            model_path=config.model_path,
            embedded=embedded.name if embedded else None,
            cache_dir=str(cache_dir),
            # SmolLM2 derails on llama.cpp's pure greedy path; Qwen is at its best there.
            temperature_floor=0.1 if embedded is SMOLLM2 else 0.0,
            n_ctx=config.context_window,
            n_threads=config.n_threads,
            streaming=True,
        )
    return ScriptedChatModel(responses=config.responses or ["This is a scripted reply."], streaming=True)


MAX_VARIANTS = 256


class ModelRegistry:
    def __init__(self, settings: Settings) -> None:
        self.configs = settings.models
        self.embedded_model = settings.embedded_model
        self.cache_dir = settings.data_dir / "models"  # the embedded model's joined GGUF
        self.default_name: str = settings.default_model or next(iter(self.configs))
        self._models: dict[str, BaseChatModel] = {}
        self._variants: dict[tuple, BaseChatModel] = {}  # per-request parameters applied, by parameters
        self._lock = threading.Lock()
        self.local_worker = ModelWorker()  # the process the embedded models run in, started on first use

    def resolve(self, name: str | None) -> str:
        """The configured name for a request's `model_name` (empty means the default)."""
        if not name:
            return self.default_name
        if name not in self.configs:
            known = ", ".join(self.configs)
            raise UnknownModelError(f"unknown model_name {name!r}; configured models: {known}")
        return name

    def config(self, name: str) -> ModelConfig:
        return self.configs[self.resolve(name)]

    def base(self, name: str) -> BaseChatModel:
        """The shared client of one model."""
        name = self.resolve(name)
        with self._lock:
            if name not in self._models:
                self._models[name] = build_chat_model(
                    name,
                    self.configs[name],
                    self.local_worker,
                    embedded=self.embedded(name),
                    cache_dir=self.cache_dir,
                )
                freeze_loaded_objects()
            return self._models[name]

    def embedded(self, name: str) -> EmbeddedModel | None:
        """The embedded model that `name` runs, if it runs one (not a GGUF file of the operator's)."""
        config = self.config(name)
        if config.provider != "llamacpp" or config.model_path:
            return None
        return EMBEDDED_MODELS[config.model or self.embedded_model]

    def connect_remote_models(self) -> None:
        """Build the client of every remote model now (it imports the openai SDK, about a
        second); local models still load their weights on first use."""
        for name, config in self.configs.items():
            if config.provider == "openai":
                self.base(name)

    async def aclose(self) -> None:
        """Close the remote models' connection pools (the copies share them) and stop the local models' worker."""
        with self._lock:
            models, self._models, self._variants = list(self._models.values()), {}, {}
        await asyncio.to_thread(self.local_worker.close)
        for model in models:
            if client := getattr(model, "root_async_client", None):
                await client.close()

    def chat_model(
        self,
        name: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: list[str] | None = None,
    ) -> BaseChatModel:
        """A model for one request: the shared client with this request's parameters."""
        config = self.config(name)
        update: dict[str, object] = {}
        if temperature is not None:
            if config.max_temperature is not None:
                temperature = min(temperature, config.max_temperature)
            update["temperature"] = temperature
        if max_tokens:
            update["max_tokens"] = max_tokens
        if top_p is not None:
            update["top_p"] = top_p
        if stop:
            update["stop"] = stop
        base = self.base(name)
        if not update:
            return base
        # Copies are kept: a model's serialized form, which every call reports
        # to its callbacks, is then computed once per parameter set, not per request.
        key = (
            self.resolve(name),
            tuple((field, tuple(v) if isinstance(v, list) else v) for field, v in sorted(update.items())),
        )
        with self._lock:
            if (model := self._variants.get(key)) is None:
                if len(self._variants) >= MAX_VARIANTS:
                    self._variants.pop(next(iter(self._variants)))  # the oldest
                model = self._variants[key] = base.model_copy(update=update)
            return model
