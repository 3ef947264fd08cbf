"""A scripted chat model for tests and demos: it answers from a list and
remembers what it was sent."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field


class ScriptedChatModel(BaseChatModel):
    """Replies with `responses` in turn (cycling), streamed word by word."""

    responses: list[str] = Field(default_factory=lambda: ["This is a scripted reply."])
    received: list[list[BaseMessage]] = Field(default_factory=list, repr=False, exclude=True)
    temperature: float | None = None
    streaming: bool = False  # True: `invoke` streams too, so callbacks see every token
    max_tokens: int | None = None
    top_p: float | None = None
    stop: list[str] | None = None  # accepted like a real model's; the script is not cut

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _next_reply(self, messages: list[BaseMessage]) -> str:
        # `received` is shared by the per-request copies the registry makes,
        # so its length is the turn count.
        reply = self.responses[len(self.received) % len(self.responses)]
        self.received.append(list(messages))
        return reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self._next_reply(messages)))])

    def _chunks(self, messages: list[BaseMessage]) -> Iterator[ChatGenerationChunk]:
        for piece in re.findall(r"\s*\S+", self._next_reply(messages)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        # Natively async: no worker thread per chunk, so the model costs nothing.
        for chunk in self._chunks(messages):
            if run_manager:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
