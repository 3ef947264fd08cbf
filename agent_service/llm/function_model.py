"""A chat model whose replies a Python function makes, for tests and demos without sockets.

The function sees the messages and the tools bound to the model (OpenAI's shape) and returns
the reply: its text, or an `AIMessage` with tool calls. Replies stream word by word; tool calls
come whole in the last chunk, with `finish_reason: "tool_calls"`, as an OpenAI model's do.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

ReplyFunction = Callable[[list[BaseMessage], list[dict[str, Any]]], "str | AIMessage"]


class FunctionChatModel(BaseChatModel):
    """`function(messages, tools)` makes each reply (see the module's docstring)."""

    function: ReplyFunction
    streaming: bool = False  # True: `invoke` streams too, so callbacks see every token
    temperature: float | None = None  # accepted like a real model's; the function decides
    max_tokens: int | None = None
    top_p: float | None = None
    stop: list[str] | None = None

    @property
    def _llm_type(self) -> str:
        return "function"

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable | BaseTool], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _reply(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        reply = self.function(list(messages), list(kwargs.get("tools") or []))
        return reply if isinstance(reply, AIMessage) else AIMessage(reply)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages, kwargs))])

    def _chunks(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages, kwargs)
        for piece in re.findall(r"\s*\S+", reply.text):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        calls = [
            {"name": call["name"], "args": json.dumps(call["args"]), "id": call["id"], "index": index}
            for index, call in enumerate(reply.tool_calls)
        ]
        finish = {"finish_reason": "tool_calls" if calls else "stop"}
        yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=calls, response_metadata=finish))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages, kwargs):
            if run_manager and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages, kwargs):
            if run_manager and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
