"""Run the agent executor for one turn: stream its events, and leave the
answer with its ordered tool calls on the turn for the final save."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from langchain_classic.agents import AgentExecutor

from agent_service.agents.events import AgentEventHandler
from agent_service.agents.executor import STOPPED_OUTPUT
from agent_service.llm.worker_client import ModelCrashError
from agent_service.runs.answer import MODEL_CRASH, describe_error
from agent_service.runs.turn import Turn
from agent_service.streaming.events import DoneEvent, ErrorEvent, FinalAnswerEvent, MetadataEvent, StreamEvent

logger = logging.getLogger(__name__)


async def stream_agent(
    *, turn: Turn, executor: AgentExecutor, inputs: dict[str, Any], agent_style: str, time_limit: float | None = None
) -> AsyncIterator[StreamEvent]:
    """metadata, (token | tool_start | tool_end | tool_error)..., final_answer, done.

    The agent works for at most `time_limit` seconds, not counting the time a
    tool call waits for a person's decision or for the client's result; then it
    stops as at its step limit."""
    handler = AgentEventHandler(**turn.ids, model=turn.model_name)
    if turn.approvals is not None:
        handler.watch(turn.approvals)
    if turn.client_calls is not None:
        handler.watch_client_calls(turn.client_calls)
    yield MetadataEvent(
        **turn.ids, model=turn.model_name, user_message_id=turn.user_message_id, agent_style=agent_style
    )

    def record(content: str, status: str, **meta: Any) -> None:
        meta = {"steps": handler.step, "transcript": "".join(handler.tokens), "usage": handler.usage, **meta}
        turn.record_outcome(content=content, status=status, meta=meta, tool_calls=handler.tool_calls)

    async def work() -> dict[str, Any]:
        try:
            async with asyncio.timeout(time_limit) as deadline:
                if turn.approvals is not None:
                    turn.approvals.on_waiting = _stopping_while_waiting(deadline)
                if turn.client_calls is not None:
                    turn.client_calls.on_pause = _stopping_while_waiting(deadline)
                return await executor.ainvoke(inputs, config={"callbacks": [handler]})
        except TimeoutError:
            if not deadline.expired():
                raise
            handler.finish_open_calls("the agent's time limit was reached")
            return {"output": STOPPED_OUTPUT}

    run = asyncio.create_task(work())
    run.add_done_callback(lambda _: handler.close())
    try:
        async for event in handler.events():
            yield event
        result = await run
    except (asyncio.CancelledError, GeneratorExit):
        # Stopped (a client gone, a stop request, shutdown): stop the agent, keep the trace so far.
        run.cancel()
        with anyio.CancelScope(shield=True):
            await asyncio.gather(run, return_exceptions=True)
        handler.finish_open_calls(turn.stop_reason)
        record("".join(handler.tokens), "interrupted", reason=turn.stop_reason)
        raise
    except ModelCrashError as exc:
        handler.finish_open_calls(str(exc))
        record("".join(handler.tokens), "interrupted", reason=MODEL_CRASH, error=str(exc))
        yield ErrorEvent(**turn.ids, message=str(exc))
        yield DoneEvent(
            **turn.ids, finish_reason="error", status="interrupted", reason=MODEL_CRASH, usage=handler.usage
        )
        return
    except Exception as exc:
        logger.warning("agent run failed: %s", exc, exc_info=True)
        message = describe_error(exc)
        handler.finish_open_calls(message)
        record("".join(handler.tokens), "error", error=message)
        yield ErrorEvent(**turn.ids, message=message)
        yield DoneEvent(**turn.ids, finish_reason="error", status="error", usage=handler.usage)
        return

    answer = str(result["output"])
    stopped = answer == STOPPED_OUTPUT
    status, finish_reason = ("partial", "max_iterations") if stopped else ("complete", "stop")
    record(answer, status, finish_reason=finish_reason)
    yield FinalAnswerEvent(**turn.ids, text=answer)
    yield DoneEvent(**turn.ids, finish_reason=finish_reason, status=status, usage=handler.usage)


def _stopping_while_waiting(deadline: asyncio.Timeout) -> Callable[[bool], None]:
    """Stops `deadline` while a tool call waits for a person; restarts it with the time that was left."""
    left: list[float] = []

    def waiting(now: bool) -> None:
        clock, when = asyncio.get_running_loop().time(), deadline.when()
        if now and when is not None:
            left.append(when - clock)
            deadline.reschedule(None)
        elif not now and left:
            deadline.reschedule(clock + left.pop())

    return waiting
