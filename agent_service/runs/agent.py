"""Run the agent executor for one turn: stream its events, and end with the
answer and its ordered tool calls (its `Outcome`) for the final save."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import anyio
from langchain_classic.agents import AgentExecutor

from agent_service.agents.approvals import ApprovalGate
from agent_service.agents.client_calls import ClientCalls
from agent_service.agents.events import AgentEventHandler
from agent_service.agents.executor import STOPPED_OUTPUT
from agent_service.agents.gates import GateListener
from agent_service.llm.worker_client import ModelCrashError
from agent_service.runs.answer import MODEL_CRASH, describe_error
from agent_service.runs.turn import Outcome, Turn
from agent_service.streaming.events import DoneEvent, ErrorEvent, FinalAnswerEvent, MetadataEvent, StreamEvent

logger = logging.getLogger(__name__)


class AgentStream:
    """The agent executor's run for one turn. `events()`: metadata, (token | tool_start |
    tool_end | tool_error | tool_approval | tool_call | requires_action)..., final_answer, done;
    `outcome`: the answer with its ordered tool calls, for the final save.

    The agent works for at most `time_limit` seconds, not counting the time a tool call
    waits for a person's decision or for the client's result; then it stops as at its step
    limit. Its gates (`approvals`, `client_calls`) tell their listeners through their one `Gates`."""

    def __init__(
        self,
        *,
        turn: Turn,
        executor: AgentExecutor,
        inputs: dict[str, Any],
        agent_style: str,
        approvals: ApprovalGate,
        client_calls: ClientCalls | None = None,
        time_limit: float | None = None,
    ) -> None:
        self.turn, self.executor, self.inputs, self.agent_style = turn, executor, inputs, agent_style
        self.gates, self.approvals, self.client_calls = approvals.gates, approvals, client_calls
        self.time_limit = time_limit
        self.outcome: Outcome | None = None
        client_tools = client_calls.tools if client_calls else frozenset()
        self.handler = AgentEventHandler(**turn.ids, model=turn.model_name, client_tools=client_tools)
        self.gates.listen(self.handler)

    @property
    def waiting(self) -> bool:
        return self.gates.pending

    def _ended(self, content: str, status: str, **meta: Any) -> Outcome:
        handler = self.handler
        meta = {"steps": handler.step, "transcript": "".join(handler.tokens), "usage": handler.usage, **meta}
        return Outcome(content=content, status=status, meta=meta, tool_calls=handler.tool_calls)

    def interrupted(self, reason: str) -> Outcome:
        """Stopped (a client gone, a stop request, shutdown): the calls still open end with
        `reason`, and the trace so far is kept."""
        self.handler.finish_open_calls(reason)
        return self._ended("".join(self.handler.tokens), "interrupted", reason=reason)

    async def _work(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self.time_limit) as deadline:
                self.gates.listen(PausedDeadline(deadline))
                return await self.executor.ainvoke(self.inputs, config={"callbacks": [self.handler]})
        except TimeoutError:
            if not deadline.expired():
                raise
            self.handler.finish_open_calls("the agent's time limit was reached")
            return {"output": STOPPED_OUTPUT}

    async def events(self) -> AsyncGenerator[StreamEvent, None]:
        turn, handler = self.turn, self.handler
        yield MetadataEvent(
            **turn.ids, model=turn.model_name, user_message_id=turn.user_message_id, agent_style=self.agent_style
        )
        run = asyncio.create_task(self._work())
        run.add_done_callback(lambda _: handler.close())
        try:
            async for event in handler.events():
                yield event
            result = await run
        except (asyncio.CancelledError, GeneratorExit):
            # Stopped: the agent stops too, before `interrupted` reads what it left.
            run.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.gather(run, return_exceptions=True)
            raise
        except ModelCrashError as exc:
            handler.finish_open_calls(str(exc))
            self.outcome = self._ended("".join(handler.tokens), "interrupted", reason=MODEL_CRASH, error=str(exc))
            yield ErrorEvent(**turn.ids, message=str(exc))
            yield DoneEvent(
                **turn.ids, finish_reason="error", status="interrupted", reason=MODEL_CRASH, usage=handler.usage
            )
            return
        except Exception as exc:
            logger.warning("agent run failed: %s", exc, exc_info=True)
            message = describe_error(exc)
            handler.finish_open_calls(message)
            self.outcome = self._ended("".join(handler.tokens), "error", error=message)
            yield ErrorEvent(**turn.ids, message=message)
            yield DoneEvent(**turn.ids, finish_reason="error", status="error", usage=handler.usage)
            return

        answer = str(result["output"])
        stopped = answer == STOPPED_OUTPUT
        status, finish_reason = ("partial", "max_iterations") if stopped else ("complete", "stop")
        self.outcome = self._ended(answer, status, finish_reason=finish_reason)
        yield FinalAnswerEvent(**turn.ids, text=answer)
        yield DoneEvent(**turn.ids, finish_reason=finish_reason, status=status, usage=handler.usage)


class PausedDeadline(GateListener):
    """Stops `deadline` while a tool call waits for someone; restarts it with the time that was left."""

    def __init__(self, deadline: asyncio.Timeout) -> None:
        self.deadline = deadline
        self.left: float | None = None

    def waiting(self, now: bool) -> None:
        clock, when = asyncio.get_running_loop().time(), self.deadline.when()
        if now and when is not None:
            self.left = when - clock
            self.deadline.reschedule(None)
        elif not now and self.left is not None:
            self.deadline.reschedule(clock + self.left)
            self.left = None
