"""Stream a model's answer as events, and leave its outcome on the turn for the final save."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.runnables import Runnable

from agent_service import metrics
from agent_service.llm.usage import estimate_usage
from agent_service.llm.worker_client import ModelCrashError
from agent_service.runs.turn import Turn
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


async def stream_answer(
    *,
    turn: Turn,
    model: BaseChatModel | Runnable,
    messages: list[BaseMessage],
    first_events: Iterable[StreamEvent] = (),
    extra_meta: dict[str, Any] | None = None,
) -> AsyncIterator[StreamEvent]:
    """metadata, [first_events], token..., [tool_call...], [error], done; the outcome is on the
    turn before `done`. Tool calls come from a model given the client's tools (`/v1`): the
    client runs them, and they are kept in the answer's metadata (`tool_calls`, OpenAI's shape)."""
    ids = turn.ids
    yield MetadataEvent(**ids, model=turn.model_name, user_message_id=turn.user_message_id)
    for event in first_events:
        yield event

    parts: list[str] = []
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    calls: AIMessageChunk | None = None  # the tool-call chunks, merged by index

    def summary(status: str, **extra: Any) -> dict[str, Any]:
        return {
            **(extra_meta or {}),
            "finish_reason": finish_reason,
            "usage": usage,
            "response": {"chars": sum(map(len, parts)), "chunks": len(parts), "status": status},
            **({"tool_calls": _openai_calls(calls)} if calls else {}),
            **extra,
        }

    started, first = time.perf_counter(), True
    try:
        async with aclosing(model.astream(messages)) as chunks:
            async for chunk in chunks:
                if first:
                    first = False
                    metrics.MODEL_LATENCY.labels(turn.model_name).observe(time.perf_counter() - started)
                text = chunk.content if isinstance(chunk.content, str) else chunk.text
                if text:
                    parts.append(text)
                    yield TokenEvent(**ids, text=text)
                if getattr(chunk, "tool_call_chunks", None):
                    piece = AIMessageChunk(content="", tool_call_chunks=chunk.tool_call_chunks)
                    calls = piece if calls is None else calls + piece
                if chunk.usage_metadata:
                    usage = dict(chunk.usage_metadata)
                finish_reason = chunk.response_metadata.get("finish_reason") or finish_reason
    except (asyncio.CancelledError, GeneratorExit):
        # Stopped (a client gone, a stop request, shutdown): keep what was generated.
        meta = summary("interrupted", reason=turn.stop_reason)
        turn.record_outcome(content="".join(parts), status="interrupted", meta=meta)
        raise
    except ModelCrashError as exc:
        metrics.MODEL_ERRORS.labels(turn.model_name).inc()
        meta = summary("interrupted", reason=MODEL_CRASH, error=str(exc))
        turn.record_outcome(content="".join(parts), status="interrupted", meta=meta)
        yield ErrorEvent(**ids, message=str(exc))
        yield DoneEvent(**ids, finish_reason="error", status="interrupted", reason=MODEL_CRASH, usage=usage)
        return
    except Exception as exc:
        metrics.MODEL_ERRORS.labels(turn.model_name).inc()
        logger.warning("model %s failed mid-stream: %s", turn.model_name, exc, exc_info=True)
        message = describe_error(exc)
        turn.record_outcome(content="".join(parts), status="error", meta=summary("error", error=message))
        yield ErrorEvent(**ids, message=message)
        yield DoneEvent(**ids, finish_reason="error", status="error", usage=usage)
        return

    usage = usage or estimate_usage(messages, "".join(parts))
    status = "partial" if finish_reason == "length" else "complete"
    turn.record_outcome(content="".join(parts), status=status, meta=summary(status))
    for index, call in enumerate(_openai_calls(calls) if calls else []):
        yield ToolCallEvent(**ids, index=index, id=call["id"], **call["function"])
    yield DoneEvent(**ids, finish_reason=finish_reason or "stop", status=status, usage=usage)


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


async def stream_fixed_answer(
    *, turn: Turn, text: str, first_events: Iterable[StreamEvent] = (), extra_meta: dict[str, Any] | None = None
) -> AsyncIterator[StreamEvent]:
    """metadata, [first_events], token, done: an answer the service gives itself, with no model asked."""
    ids = turn.ids
    yield MetadataEvent(**ids, model=turn.model_name, user_message_id=turn.user_message_id)
    for event in first_events:
        yield event
    yield TokenEvent(**ids, text=text)
    meta = {**(extra_meta or {}), "finish_reason": "stop", "answered_by": "service", "usage": None}
    turn.record_outcome(content=text, status="complete", meta=meta)
    yield DoneEvent(**ids, finish_reason="stop", status="complete", usage=None)
