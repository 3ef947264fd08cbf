"""The fake upstream in process: the same script as `tests.fake_openai.FakeOpenAI` (replies,
delays, tool calls, errors, a stream cut short, every request recorded in OpenAI's shape),
played by a `FunctionChatModel` instead of an HTTP server.

The service builds this model for the models whose `base_url` is `FunctionUpstream.base_url`
(`install`), so an app made from `make_settings` answers without a socket. The tests about the
HTTP path to a model (what goes over the wire, retries, a dropped connection, a service in
another process) keep the HTTP fake: they are marked `http_upstream` (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import Runnable
from langchain_openai.chat_models.base import _convert_message_to_dict

from agent_service.llm import registry
from agent_service.llm.function_model import FunctionChatModel
from tests.fake_openai import FakeOpenAI, Reply, finish_of, usage_of


class UpstreamError(Exception):
    """The scripted reply is an HTTP error or a dropped connection: the model fails as a client would."""


@dataclass
class FunctionUpstream(FakeOpenAI):
    """`FakeOpenAI`'s script, with no server: `url` only names it."""

    url: str = "function://upstream"

    def take(self, body: dict[str, Any]) -> Reply:
        """Record the request and pick its reply, as the HTTP fake does."""
        self.requests.append(body)
        if self.on_request:
            self.on_request(body)
        reply = self.replies.popleft() if self.replies else self.responder(body) if self.responder else self.default
        if reply.status != 200:
            raise UpstreamError(f"Error code: {reply.status} - scripted upstream error {reply.status}")
        return reply


class UpstreamModel(FunctionChatModel):
    """Plays `upstream`'s replies, streamed as the HTTP fake streams them."""

    upstream: Any
    model_name: str = "fake-model"
    function: Any = None  # the script plays the replies: no reply function

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Runnable[LanguageModelInput, Any]:
        bound = super().bind_tools(tools, **kwargs)
        return bound.bind(tool_choice=tool_choice) if tool_choice is not None else bound

    def _body(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The request as the service's OpenAI client would send it."""
        body: dict[str, Any] = {
            "model": self.model_name,
            "messages": [_convert_message_to_dict(message) for message in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        for name in ("temperature", "max_tokens", "top_p"):
            if (value := getattr(self, name)) is not None:
                body[name] = value
        if stop or self.stop:
            body["stop"] = stop or self.stop
        return {**body, **{name: value for name, value in kwargs.items() if value is not None}}

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        body = self._body(messages, stop, kwargs)
        reply = self.upstream.take(body)
        finished = False
        try:
            await asyncio.sleep(reply.first_delay)
            for sent, piece in enumerate(reply.pieces()):
                if reply.fail_after is not None and sent >= reply.fail_after:
                    raise UpstreamError("scripted connection drop")
                if sent and reply.delay:
                    await asyncio.sleep(reply.delay)
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                if run_manager:
                    await run_manager.on_llm_new_token(piece, chunk=chunk)
                yield chunk
            yield self._last_chunk(reply, body)
            finished = True
        finally:
            if not finished and reply.fail_after is None:
                self.upstream.streams_cut += 1

    def _last_chunk(self, reply: Reply, body: dict[str, Any]) -> ChatGenerationChunk:
        calls = [
            {"name": call["name"], "args": json.dumps(call.get("arguments", {})), "id": call.get("id", f"call_{index}")}
            | {"index": index}
            for index, call in enumerate(reply.tool_calls or [])
        ]
        usage = usage_of(body, reply.text)
        message = AIMessageChunk(
            content="",
            tool_call_chunks=calls,
            response_metadata={"finish_reason": finish_of(reply), "model_name": self.model_name},
            usage_metadata={
                "input_tokens": usage["prompt_tokens"],
                "output_tokens": usage["completion_tokens"],
                "total_tokens": usage["total_tokens"],
            },
        )
        return ChatGenerationChunk(message=message)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        raise NotImplementedError("the service calls its models asynchronously")


def install(monkeypatch: pytest.MonkeyPatch, upstream: FunctionUpstream) -> None:
    """Models configured with `upstream.base_url` are `UpstreamModel`s playing its script."""
    build = registry.build_chat_model

    def build_chat_model(name: str, config: Any, *args: Any, **kwargs: Any) -> Any:
        if config.provider == "openai" and config.base_url == upstream.base_url:
            return UpstreamModel(upstream=upstream, model_name=config.model or name, streaming=True)
        return build(name, config, *args, **kwargs)

    monkeypatch.setattr(registry, "build_chat_model", build_chat_model)
