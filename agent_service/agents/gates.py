"""What an agent answer's gates tell the rest of the answer.

A tool call can wait at a gate: for a person's decision (`approvals.ApprovalGate`)
or for the client's result (`client_calls.ClientCalls`). Whoever cares (the
answer's event handler, the agent's time limit, the live answer's status) is a
`GateListener`, told through the answer's one `Gates`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent_service.agents.approvals import Decision


class GateListener:
    """Hears what happens at an answer's gates; each method does nothing unless overridden."""

    def waiting(self, now: bool) -> None:
        """Some call of the answer waits at a gate now (True), or none does any more (False)."""

    def approval_pending(self, run_id: str) -> None:
        """The tool run `run_id` waits for a person's decision."""

    def approval_decided(self, run_id: str, decision: Decision) -> None:
        """A person (or the timeout) decided on the tool run `run_id`."""

    def client_calls_out(self, call_ids: list[str]) -> None:
        """The agent's step called the client's tools: these calls wait for the client's results."""


class Gates(GateListener):
    """One answer's listeners, told of all its gates, and how many of its calls wait at one.

    The count is across gates: an approval and a client call that wait at once in one step
    are one wait for `waiting`, so the agent's time limit pauses once and resumes once."""

    def __init__(self) -> None:
        self._listeners: list[GateListener] = []
        self._held = 0

    def listen(self, listener: GateListener) -> None:
        self._listeners.append(listener)

    @property
    def pending(self) -> bool:
        """Whether a call waits for someone: a person's decision, or the client's result."""
        return self._held > 0

    def hold(self) -> None:
        """A call starts waiting at a gate."""
        self._held += 1
        if self._held == 1:
            self.waiting(True)

    def release(self) -> None:
        """A call stops waiting (answered, decided or timed out)."""
        self._held -= 1
        if self._held == 0:
            self.waiting(False)

    def waiting(self, now: bool) -> None:
        for listener in self._listeners:
            listener.waiting(now)

    def approval_pending(self, run_id: str) -> None:
        for listener in self._listeners:
            listener.approval_pending(run_id)

    def approval_decided(self, run_id: str, decision: Decision) -> None:
        for listener in self._listeners:
            listener.approval_decided(run_id, decision)

    def client_calls_out(self, call_ids: list[str]) -> None:
        for listener in self._listeners:
            listener.client_calls_out(call_ids)
