"""Tool calls that wait for a person's decision before they run.

Each agent answer has one `ApprovalGate`. A guarded tool that needs approval
waits at the gate (`wait`); the answer's listeners (`agents.gates`) hear that
the call is pending (the event handler sends `tool_approval`) and how it was decided; the approve and
deny routes reach the gate through the live answer (`decide`). No answer within
the timeout counts as a denial.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from agent_service.agents.gates import Gates
from agent_service.db.models import utcnow
from agent_service.errors import NotFoundError, ServiceError


class AlreadyDecidedError(ServiceError):
    status_code = 409
    code = "already_decided"


@dataclass
class Decision:
    status: str  # approved, denied or timed_out
    reason: str = ""
    by: str | None = None  # the deciding key's fingerprint; None with auth off
    at: datetime = field(default_factory=utcnow)

    @property
    def approved(self) -> bool:
        return self.status == "approved"


class ApprovalGate:
    def __init__(self, timeout: float, gates: Gates) -> None:
        self.timeout = timeout
        self.gates = gates  # the answer's listeners
        self._waiting: dict[str, asyncio.Future[Decision]] = {}
        self.decided: dict[str, Decision] = {}

    async def wait(self, run_id: str) -> Decision:
        """Hold the tool call `run_id` until a person decides, or the timeout does."""
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._waiting[run_id] = future
        self.gates.hold()
        self.gates.approval_pending(run_id)
        try:
            decision = await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            decision = Decision("timed_out", f"no answer within {self.timeout:g} s")
        finally:
            self._waiting.pop(run_id, None)
            self.gates.release()
        self.decided[run_id] = decision
        self.gates.approval_decided(run_id, decision)
        return decision

    def decide(self, run_id: str, decision: Decision) -> None:
        if run_id in self.decided:
            raise AlreadyDecidedError(f"tool call {run_id!r} was already {self.decided[run_id].status}")
        future = self._waiting.get(run_id)
        if future is None or future.done():
            raise NotFoundError(f"no tool call {run_id!r} is waiting for approval")
        self.decided[run_id] = decision
        future.set_result(decision)
