"""The client's own function tools in an agent turn (`/v1/chat/completions` in chat_agent
with `tools`): the agent calls them as it calls the service's tools, but the client runs
them. The call goes out as a standard tool call, the answer waits (`requires_action`)
until the client sends the result back with its next request, and then goes on.

A call's id names its answer (`call_<message_id>_<n>`), so the request that brings the
result finds the waiting answer on any replica without anything else to send.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForToolRun
from langchain_core.tools import BaseTool, ToolException
from pydantic import ConfigDict

from agent_service.agents.gates import Gates
from agent_service.errors import NotFoundError, ServiceError

CALL_ID = re.compile(r"call_([0-9a-f]{32})_([0-9a-f]{12})")


def call_id(message_id: str, run_id: Any) -> str:
    """The id the client gets for the tool run `run_id` of answer `message_id`: the run id's
    random end (its start is a timestamp, the same for the calls of one step)."""
    return f"call_{message_id}_{run_id.hex[-12:]}"


def answer_of(tool_call_id: str) -> str | None:
    """The answer that made the call `tool_call_id`, if the service made it."""
    found = CALL_ID.fullmatch(tool_call_id)
    return found.group(1) if found else None


class ClientCalls:
    """One answer's calls of the client's tools that wait for their results."""

    def __init__(self, timeout: float, tools: frozenset[str], gates: Gates) -> None:
        self.timeout = timeout
        self.tools = tools  # the names of the client's tools
        self.gates = gates  # the answer's listeners
        self.expected = 0  # the client's calls of the agent's current step
        self._waiting: dict[str, asyncio.Future[str]] = {}

    def plan(self, calls: int) -> None:
        """The agent's next step calls the client's tools `calls` times."""
        self.expected = calls

    async def wait(self, call: str) -> str:
        """The client's result of `call`; a ToolException when none comes within the timeout."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[call] = future
        self.gates.hold()
        if len(self._waiting) >= self.expected:
            self.gates.client_calls_out(list(self._waiting))  # the step's calls go out together
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            raise ToolException(f"the client sent no result for this call within {self.timeout:g} s") from None
        finally:
            self._waiting.pop(call, None)
            self.gates.release()

    def deliver(self, results: dict[str, str]) -> None:
        """The client's results, by call id: one for each call that waits, and no other."""
        unknown = [call for call in results if call not in self._waiting or self._waiting[call].done()]
        if unknown:
            raise NotFoundError(f"no tool call {unknown[0]!r} waits for its result", param="messages")
        if missing := [call for call in self._waiting if call not in results]:
            # The answer goes on once all of its step's calls have their results.
            raise ServiceError(
                f"the results of all the calls are needed together: {missing[0]!r} has none",
                code="invalid_messages",
                param="messages",
            )
        for call, result in results.items():
            self._waiting[call].set_result(result)


class ClientTool(BaseTool):
    """A function tool of the client's: the agent calls it like its own, the client runs it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    calls: ClientCalls
    message_id: str
    handle_tool_error: bool = True  # a call that timed out is an observation, not a failed run

    @classmethod
    def of(cls, function: dict[str, Any], *, calls: ClientCalls, message_id: str) -> ClientTool:
        """From an OpenAI function definition: name, description, parameters (a JSON schema)."""
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        return cls(
            name=function["name"],
            description=function.get("description") or function["name"],
            args_schema=parameters,
            calls=calls,
            message_id=message_id,
        )

    def _run(self, *args: Any, **kwargs: Any) -> str:
        raise NotImplementedError("the client's tools are called asynchronously")

    async def _arun(self, *args: Any, run_manager: AsyncCallbackManagerForToolRun | None = None, **kwargs: Any) -> str:
        assert run_manager is not None  # the executor always passes one
        return await self.calls.wait(call_id(self.message_id, run_manager.run_id))
