"""Tool calls that cannot kill an agent run.

Each tool the agent gets is wrapped: a timeout, and any exception turned into
an observation the model reads (so it can try again) and that the event
stream reports as `tool_error`. A tool that needs a person's approval waits
at the answer's approval gate first; a denial is such an observation too.
The loaded tools themselves stay untouched.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForToolRun
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException
from pydantic import ValidationError

from agent_service.agents.approvals import ApprovalGate


class ToolErrorObservation(str):
    """An observation that reports a failed call; the event stream sends it as `tool_error`."""

    __slots__ = ()


def _error_observation(error: ToolException) -> ToolErrorObservation:
    return ToolErrorObservation(str(error))


# The guard is transparent: callbacks see the guarded call, not a nested one.
_NO_CALLBACKS: RunnableConfig = {"callbacks": []}


class GuardedTool(BaseTool):
    inner: BaseTool
    timeout: float
    approval: ApprovalGate | None = None  # set: each call waits for a person's decision

    @classmethod
    def wrap(cls, tool: BaseTool, *, timeout: float, approval: ApprovalGate | None = None) -> GuardedTool:
        def invalid_input(error: ValidationError) -> ToolErrorObservation:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in error.errors())
            return ToolErrorObservation(f"invalid input for {tool.name}: {problems}")

        return cls(
            name=tool.name,
            description=tool.description,
            args_schema=tool.args_schema,
            inner=tool,
            timeout=timeout,
            approval=approval,
            handle_tool_error=_error_observation,
            handle_validation_error=invalid_input,
        )

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.inner.invoke(args[0] if args else kwargs, _NO_CALLBACKS)
        except ToolException:
            raise
        except Exception as exc:
            raise ToolException(f"{self.name} failed: {type(exc).__name__}: {exc}") from exc

    async def _arun(self, *args: Any, run_manager: AsyncCallbackManagerForToolRun | None = None, **kwargs: Any) -> Any:
        if self.approval is not None and run_manager is not None:
            decision = await self.approval.wait(str(run_manager.run_id))
            if not decision.approved:
                because = f": {decision.reason}" if decision.reason else ""
                who = "the user" if decision.status == "denied" else "nobody"
                raise ToolException(f"{self.name} was not run: denied by {who}{because}")
        try:
            return await asyncio.wait_for(self.inner.ainvoke(args[0] if args else kwargs, _NO_CALLBACKS), self.timeout)
        except TimeoutError:
            raise ToolException(f"{self.name} timed out after {self.timeout:g} s") from None
        except ToolException:
            raise
        except Exception as exc:
            raise ToolException(f"{self.name} failed: {type(exc).__name__}: {exc}") from exc
