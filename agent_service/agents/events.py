"""The agent's async-iterator callback handler: LangChain callbacks in, the
typed stream events of `agent_service.streaming.events` out, and a record of
every tool call for the database."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from uuid import UUID

from langchain_classic.agents.agent import ExceptionTool
from langchain_classic.agents.tools import InvalidTool
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import LLMResult

from agent_service import metrics
from agent_service.agents.approvals import Decision
from agent_service.agents.client_calls import call_id
from agent_service.agents.gates import GateListener
from agent_service.agents.guarded import ToolErrorObservation
from agent_service.db.models import ToolCall, utcnow
from agent_service.llm.usage import estimate_answer_tokens
from agent_service.streaming.events import (
    RequiresActionEvent,
    StreamEvent,
    TokenEvent,
    ToolApprovalEvent,
    ToolCallEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)

# Names the executor gives its own pseudo-tools, read from langchain-classic's own classes.
INVALID_TOOL = InvalidTool().name  # the model named a tool that does not exist
PARSE_ERROR_TOOL = ExceptionTool().name  # the model's output could not be parsed


class AgentEventHandler(AsyncCallbackHandler, GateListener):
    """Queues an event per token and tool call; iterate `events()` while the agent runs.

    As the answer's gates' listener, it reports the calls that wait for a person's decision
    (`tool_approval`) and records how each was decided; the calls of the client's tools
    (`client_tools`) go out as `tool_call` events, and once a step's calls all wait for
    their results, a `requires_action` event says so."""

    run_inline = True  # awaited in place, in order, not gathered as a task per callback

    def __init__(
        self, *, conversation_id: str, message_id: str, model: str = "", client_tools: frozenset[str] = frozenset()
    ) -> None:
        self.ids = {"conversation_id": conversation_id, "message_id": message_id}
        self.model = model  # the registry's name, for the metrics
        self._calls_started: dict[UUID, float] = {}  # model calls, for their latency
        self.queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue()
        self.step = 0
        self.tokens: list[str] = []
        self.tool_calls: list[ToolCall] = []
        self._open: dict[UUID, tuple[ToolCall, float]] = {}
        self._invalid: set[UUID] = set()  # calls of tools that do not exist
        self._usage = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
        self._usage_estimated = False
        self._prompt_tokens: dict[UUID, int] = {}  # per model call, for models that report no usage
        self._client_tools = client_tools  # tools the client runs
        self._client_index = 0  # the next client call's index in its step's `tool_calls`

    def client_calls_out(self, ids: list[str]) -> None:
        self._client_index = 0
        self.queue.put_nowait(RequiresActionEvent(**self.ids, tool_calls=ids))

    def approval_pending(self, run_id: str) -> None:
        call, _ = self._open[UUID(run_id)]
        self.queue.put_nowait(ToolApprovalEvent(**self.ids, run_id=run_id, tool=call.tool, input=call.input))

    def approval_decided(self, run_id: str, decision: Decision) -> None:
        if opened := self._open.get(UUID(run_id)):
            call = opened[0]
            call.approval, call.approval_reason = decision.status, decision.reason or None
            call.approval_by, call.approval_at = decision.by, decision.at

    def close(self) -> None:
        self.queue.put_nowait(None)

    async def events(self):  # noqa: ANN201 - an async iterator of StreamEvent
        while (event := await self.queue.get()) is not None:
            yield event

    @property
    def usage(self) -> dict[str, Any] | None:
        """Tokens of every model call of the run, summed; estimated for models that report none."""
        if not self._usage["total_tokens"]:
            return None
        return {**self._usage, "estimated": True} if self._usage_estimated else dict(self._usage)

    async def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.step += 1
        self._calls_started[run_id] = time.perf_counter()
        self._prompt_tokens[run_id] = sum(count_tokens_approximately(batch) for batch in messages)

    async def on_llm_start(
        self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.step += 1
        self._calls_started[run_id] = time.perf_counter()
        self._prompt_tokens[run_id] = count_tokens_approximately([HumanMessage(p) for p in prompts])

    async def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._calls_started.pop(run_id, None)
        if not isinstance(error, asyncio.CancelledError):
            metrics.MODEL_ERRORS.labels(self.model).inc()

    async def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        if (started := self._calls_started.pop(run_id, None)) is not None:
            metrics.MODEL_LATENCY.labels(self.model).observe(time.perf_counter() - started)
        prompt_tokens = self._prompt_tokens.pop(run_id, 0)
        generation = response.generations[0][0] if response.generations and response.generations[0] else None
        reported = getattr(getattr(generation, "message", None), "usage_metadata", None)
        if reported:
            counts = {key: reported.get(key, 0) for key in self._usage}
        else:
            self._usage_estimated = True
            text = generation.text if generation else ""
            output = estimate_answer_tokens(text)
            counts = {"input_tokens": prompt_tokens, "output_tokens": output, "total_tokens": prompt_tokens + output}
        for key, value in counts.items():
            self._usage[key] += int(value)

    async def on_llm_new_token(self, token: str | list[str | dict[str, Any]], **kwargs: Any) -> None:
        if isinstance(token, str) and token:
            self.tokens.append(token)
            self.queue.put_nowait(TokenEvent(**self.ids, text=token, step=self.step))

    async def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = serialized.get("name", "")
        if name == PARSE_ERROR_TOOL:
            return  # not a tool call: the model is told to fix its format and tries again
        tool_input: Any = inputs if inputs is not None else input_str
        if name == INVALID_TOOL and isinstance(inputs, dict):
            name, tool_input = str(inputs.get("requested_tool_name", name)), ""
            self._invalid.add(run_id)
        call = ToolCall(
            message_id=self.ids["message_id"],
            position=len(self.tool_calls),
            run_id=str(run_id),
            tool=name,
            input=tool_input,
            started_at=utcnow(),
        )
        self.tool_calls.append(call)
        self._open[run_id] = (call, time.perf_counter())
        if name in self._client_tools:
            arguments = tool_input if isinstance(tool_input, str) else json.dumps(tool_input, ensure_ascii=False)
            event = ToolCallEvent(
                **self.ids,
                index=self._client_index,
                id=call_id(self.ids["message_id"], run_id),
                name=name,
                arguments=arguments,
            )
            self._client_index += 1
            self.queue.put_nowait(event)
            return
        self.queue.put_nowait(
            ToolStartEvent(**self.ids, run_id=str(run_id), tool=name, input=tool_input, step=self.step)
        )

    async def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if run_id not in self._open:
            return
        call, started = self._open.pop(run_id)
        if isinstance(output, ToolErrorObservation) or run_id in self._invalid:
            self._fail(call, started, str(output))
            return
        call.output, call.ended_at = str(output), utcnow()
        metrics.TOOL_CALLS.labels(call.tool, "ok").inc()
        self.queue.put_nowait(
            ToolEndEvent(
                **self.ids,
                run_id=call.run_id or "",
                tool=call.tool,
                output=call.output,
                elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        )

    async def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        if isinstance(error, asyncio.CancelledError):
            return  # the run was stopped: whoever stopped it names the reason (finish_open_calls)
        if run_id in self._open:
            self._fail(*self._open.pop(run_id), f"{type(error).__name__}: {error}")

    def _fail(self, call: ToolCall, started: float, error: str) -> None:
        metrics.TOOL_CALLS.labels(call.tool, "error").inc()
        call.error, call.ended_at = error, utcnow()
        self.queue.put_nowait(
            ToolErrorEvent(
                **self.ids,
                run_id=call.run_id or "",
                tool=call.tool,
                error=error,
                elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        )

    def finish_open_calls(self, error: str) -> None:
        """Calls still running when the run stops (disconnect, failure) end with `error`."""
        for call, _ in self._open.values():
            call.error, call.ended_at = error, utcnow()
        self._open.clear()
