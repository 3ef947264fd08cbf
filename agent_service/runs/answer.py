"""A model's answer to a turn as events, and how it ended (its `Outcome`) for the final save."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.runnables import Runnable

from agent_service import metrics
from agent_service.llm.usage import estimate_usage
from agent_service.llm.worker_client import ModelCrashError
from agent_service.runs.turn import Outcome, Turn
from agent_service.streaming.events import (
    DoneEvent,
    ErrorEvent,
    MetadataEvent,
    StreamEvent,
    TokenEvent,
    ToolCallEvent,
)

logger = logging.getLogger(__name__)

MODEL_CRASH = "model_crash"  # an interrupted answer's reason: the model's process died


def describe_error(exc: BaseException) -> str:
    """A short, client-safe description: the kind of failure and its message."""
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class AnswerStream:
    """A model's answer to one turn: `events()` streams it, and `outcome` is how it ended, for the
    final save: set when the stream says `done`, or made by `interrupted` when it is stopped."""

    approvals = client_calls = None  # no call of a plain answer waits for anyone
    waiting = False

    def __init__(
        self,
        *,
        turn: Turn,
        model: BaseChatModel | Runnable,
        messages: list[BaseMessage],
        first_events: Iterable[StreamEvent] = (),
        extra_meta: dict[str, Any] | None = None,
    ) -> None:
        self.turn, self.model, self.messages = turn, model, messages
        self.first_events, self.extra_meta = first_events, extra_meta or {}
        self.outcome: Outcome | None = None
        self.parts: list[str] = []
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.calls: AIMessageChunk | None = None  # the tool-call chunks, merged by index

    def _ended(self, status: str, **extra: Any) -> Outcome:
        meta = {
            **self.extra_meta,
            "finish_reason": self.finish_reason,
            "usage": self.usage,
            "response": {"chars": sum(map(len, self.parts)), "chunks": len(self.parts), "status": status},
            **({"tool_calls": _openai_calls(self.calls)} if self.calls else {}),
            **extra,
        }
        return Outcome(content="".join(self.parts), status=status, meta=meta)

    def interrupted(self, reason: str) -> Outcome:
        """Stopped (a client gone, a stop request, shutdown): what was generated is kept."""
        return self._ended("interrupted", reason=reason)

    async def events(self) -> AsyncGenerator[StreamEvent, None]:
        """metadata, [first_events], token..., [tool_call...], [error], done. Tool calls come from a
        model given the client's tools (`/v1`): the client runs them, and they are kept in the
        answer's metadata (`tool_calls`, OpenAI's shape)."""
        turn, ids = self.turn, self.turn.ids
        yield MetadataEvent(**ids, model=turn.model_name, user_message_id=turn.user_message_id)
        for event in self.first_events:
            yield event
        started, first = time.perf_counter(), True
        try:
            # astream is typed an iterator; it is an async generator, closed here on a stop
            async with aclosing(cast(AsyncGenerator[Any, None], self.model.astream(self.messages))) as chunks:
                async for chunk in chunks:
                    if first:
                        first = False
                        metrics.MODEL_LATENCY.labels(turn.model_name).observe(time.perf_counter() - started)
                    text = chunk.content if isinstance(chunk.content, str) else chunk.text
                    if text:
                        self.parts.append(text)
                        yield TokenEvent(**ids, text=text)
                    if getattr(chunk, "tool_call_chunks", None):
                        piece = AIMessageChunk(content="", tool_call_chunks=chunk.tool_call_chunks)
                        self.calls = piece if self.calls is None else self.calls + piece
                    if chunk.usage_metadata:
                        self.usage = dict(chunk.usage_metadata)
                    self.finish_reason = chunk.response_metadata.get("finish_reason") or self.finish_reason
        except ModelCrashError as exc:
            metrics.MODEL_ERRORS.labels(turn.model_name).inc()
            self.outcome = self._ended("interrupted", reason=MODEL_CRASH, error=str(exc))
            yield ErrorEvent(**ids, message=str(exc))
            yield DoneEvent(**ids, finish_reason="error", status="interrupted", reason=MODEL_CRASH, usage=self.usage)
            return
        except Exception as exc:
            metrics.MODEL_ERRORS.labels(turn.model_name).inc()
            logger.warning("model %s failed mid-stream: %s", turn.model_name, exc, exc_info=True)
            message = describe_error(exc)
            self.outcome = self._ended("error", error=message)
            yield ErrorEvent(**ids, message=message)
            yield DoneEvent(**ids, finish_reason="error", status="error", usage=self.usage)
            return

        self.usage = self.usage or estimate_usage(self.messages, "".join(self.parts))
        status = "partial" if self.finish_reason == "length" else "complete"
        self.outcome = self._ended(status)
        for index, call in enumerate(_openai_calls(self.calls) if self.calls else []):
            yield ToolCallEvent(**ids, index=index, id=call["id"], **call["function"])
        yield DoneEvent(**ids, finish_reason=self.finish_reason or "stop", status=status, usage=self.usage)


def _openai_calls(merged: AIMessageChunk) -> list[dict[str, Any]]:
    """The tool calls of a model's answer in OpenAI's shape, arguments as the JSON text the model wrote."""
    return [
        {
            "id": chunk.get("id") or f"call_{index}",
            "type": "function",
            "function": {"name": chunk.get("name") or "", "arguments": chunk.get("args") or "{}"},
        }
        for index, chunk in enumerate(merged.tool_call_chunks)
    ]


class FixedAnswer:
    """metadata, [first_events], token, done: an answer the service gives itself, with no model asked."""

    approvals = client_calls = None
    waiting = False

    def __init__(
        self,
        *,
        turn: Turn,
        text: str,
        first_events: Iterable[StreamEvent] = (),
        extra_meta: dict[str, Any] | None = None,
    ) -> None:
        self.turn, self.text, self.first_events = turn, text, first_events
        meta = {**(extra_meta or {}), "finish_reason": "stop", "answered_by": "service", "usage": None}
        self.outcome: Outcome | None = None
        self._complete = Outcome(content=text, status="complete", meta=meta)

    def interrupted(self, reason: str) -> None:
        """Nothing of its own to keep: the live answer saves the text it sent."""

    async def events(self) -> AsyncGenerator[StreamEvent, None]:
        ids = self.turn.ids
        yield MetadataEvent(**ids, model=self.turn.model_name, user_message_id=self.turn.user_message_id)
        for event in self.first_events:
            yield event
        yield TokenEvent(**ids, text=self.text)
        self.outcome = self._complete
        yield DoneEvent(**ids, finish_reason="stop", status="complete", usage=None)
