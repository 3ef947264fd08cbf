"""Run the agent executor for one turn: stream its events, then save the
answer with its ordered tool calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from langchain_classic.agents import AgentExecutor

from agent_service.agents.events import AgentEventHandler
from agent_service.agents.executor import STOPPED_OUTPUT
from agent_service.chains.answer import describe_error
from agent_service.chains.turn import Turn, finish_turn
from agent_service.db.engine import Database
from agent_service.streaming.events import DoneEvent, FinalAnswerEvent, MetadataEvent, StreamEvent, error_event

logger = logging.getLogger(__name__)


async def stream_agent(
    *, db: Database, turn: Turn, executor: AgentExecutor, inputs: dict[str, Any]
) -> AsyncIterator[StreamEvent]:
    """metadata, (token | tool_start | tool_end | tool_error)..., final_answer, done."""
    handler = AgentEventHandler(**turn.ids)
    yield MetadataEvent(**turn.ids, model=turn.model_name, user_message_id=turn.user_message_id)

    def save(content: str, status: str, **meta: Any):  # noqa: ANN202 - a coroutine
        meta = {"steps": handler.step, "transcript": "".join(handler.tokens), "usage": handler.usage, **meta}
        return finish_turn(db, turn, content=content, status=status, meta=meta, tool_calls=handler.tool_calls)

    run = asyncio.create_task(executor.ainvoke(inputs, config={"callbacks": [handler]}))
    run.add_done_callback(lambda _: handler.close())
    try:
        async for event in handler.events():
            yield event
        result = await run
    except (asyncio.CancelledError, GeneratorExit):
        # The client went away: stop the agent, keep the trace so far.
        run.cancel()
        with anyio.CancelScope(shield=True):
            await asyncio.gather(run, return_exceptions=True)
            handler.finish_open_calls("client_disconnected")
            await save("".join(handler.tokens), "interrupted", reason="client_disconnected")
        raise
    except Exception as exc:
        logger.warning("agent run failed: %s", exc, exc_info=True)
        message = describe_error(exc)
        handler.finish_open_calls(message)
        await save("".join(handler.tokens), "error", error=message)
        yield error_event(**turn.ids, message=message)
        yield DoneEvent(**turn.ids, finish_reason="error", status="error", usage=handler.usage)
        return

    answer = str(result["output"])
    stopped = answer == STOPPED_OUTPUT
    status, finish_reason = ("partial", "max_iterations") if stopped else ("complete", "stop")
    await save(answer, status, finish_reason=finish_reason)
    yield FinalAnswerEvent(**turn.ids, text=answer, final_answer=answer)
    yield DoneEvent(**turn.ids, finish_reason=finish_reason, status=status, usage=handler.usage)
