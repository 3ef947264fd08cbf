"""Stream a model's answer as events, and save it once when the stream ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any

import anyio
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

from agent_service.chains.turn import Turn, finish_turn
from agent_service.db.engine import Database
from agent_service.streaming.events import (
    DoneEvent,
    MetadataEvent,
    StreamEvent,
    TokenEvent,
    error_event,
)

logger = logging.getLogger(__name__)


def describe_error(exc: BaseException) -> str:
    """A short, client-safe description: the kind of failure and its message."""
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def estimate_answer_tokens(answer: str) -> int:
    """The approximate token count of a model's answer (for models that report no usage)."""
    return count_tokens_approximately([AIMessage(answer)], extra_tokens_per_message=0)


def estimate_usage(prompt: list[BaseMessage], answer: str) -> dict[str, Any]:
    """Token counts for a model that reports none, approximated (and marked so)."""
    input_tokens = count_tokens_approximately(prompt)
    output_tokens = estimate_answer_tokens(answer)
    total = input_tokens + output_tokens
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": total, "estimated": True}


async def stream_answer(
    *,
    db: Database,
    turn: Turn,
    model: BaseChatModel,
    messages: list[BaseMessage],
    first_events: Iterable[StreamEvent] = (),
    chatchat_answer_key: bool = False,
    extra_meta: dict[str, Any] | None = None,
) -> AsyncIterator[StreamEvent]:
    """metadata, [first_events], token..., [error], done; the answer is saved before `done`.

    `chatchat_answer_key` repeats each token under `answer`, the key
    Chatchat's agent and knowledge-base clients read.
    """
    ids = turn.ids
    yield MetadataEvent(**ids, model=turn.model_name, user_message_id=turn.user_message_id)
    for event in first_events:
        yield event

    parts: list[str] = []
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None

    def summary(status: str, **extra: Any) -> dict[str, Any]:
        return {
            **(extra_meta or {}),
            "finish_reason": finish_reason,
            "usage": usage,
            "response": {"chars": sum(map(len, parts)), "chunks": len(parts), "status": status},
            **extra,
        }

    try:
        async with aclosing(model.astream(messages)) as chunks:
            async for chunk in chunks:
                text = chunk.content if isinstance(chunk.content, str) else chunk.text
                if text:
                    parts.append(text)
                    yield TokenEvent(**ids, text=text, answer=text if chatchat_answer_key else None)
                if chunk.usage_metadata:
                    usage = dict(chunk.usage_metadata)
                finish_reason = chunk.response_metadata.get("finish_reason") or finish_reason
    except (asyncio.CancelledError, GeneratorExit):
        # The client went away: keep what was generated. The write is shielded
        # from the cancellation that is tearing this stream down.
        with anyio.CancelScope(shield=True):
            meta = summary("interrupted", reason="client_disconnected")
            await finish_turn(db, turn, content="".join(parts), status="interrupted", meta=meta)
        raise
    except Exception as exc:
        logger.warning("model %s failed mid-stream: %s", turn.model_name, exc, exc_info=True)
        message = describe_error(exc)
        meta = summary("error", error=message)
        await finish_turn(db, turn, content="".join(parts), status="error", meta=meta)
        yield error_event(**ids, message=message)
        yield DoneEvent(**ids, finish_reason="error", status="error", usage=usage)
        return

    usage = usage or estimate_usage(messages, "".join(parts))
    status = "partial" if finish_reason == "length" else "complete"
    await finish_turn(db, turn, content="".join(parts), status=status, meta=summary(status))
    yield DoneEvent(**ids, finish_reason=finish_reason or "stop", status=status, usage=usage)
