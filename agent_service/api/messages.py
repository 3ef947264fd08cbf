"""An answer apart from the request that started it: resume its events, stop it.

`GET /chat/messages/{id}/events?after=N` streams, in the native framing, the
answer's events with `seq > N`: a live answer's so far and then each new
one until `done`; a finished one's from the database (runs of tokens
merged); one a crash cut, up to its last checkpoint and a `done`.
`POST /chat/messages/{id}/stop` ends a live answer (`done`: status
`interrupted`, reason `stopped`); stopping a finished one changes nothing.
`POST /chat/messages/{id}/tool_calls/{run_id}/approve|deny` answers a tool
call that waits for a person's approval (a `tool_approval` event): it runs,
or it ends as a `tool_error` the model reads. A second answer is a 409.
Another key's message is a 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, Field

from agent_service.agents.approvals import AlreadyDecidedError, Decision
from agent_service.api.deps import OwnerDep, ServicesDep
from agent_service.db import answers
from agent_service.runs.replay import find_answer
from agent_service.services import Services
from agent_service.streaming.responses import sse_response

router = APIRouter(prefix="/chat/messages", tags=["answers"])

MessageId = Annotated[str, Path(min_length=1, max_length=64, description="The answer's `message_id`.")]
RunId = Annotated[str, Path(min_length=1, max_length=64, description="The tool call's `run_id`.")]


class DecisionRequest(BaseModel):
    reason: str = Field("", max_length=2000, description="Why; a denial's reason reaches the model.")


@router.get("/{message_id}/events")
async def answer_events(
    message_id: MessageId,
    services: ServicesDep,
    owner: OwnerDep,
    after: Annotated[int, Query(ge=-1, description="The last `seq` the client has; -1 for every event.")] = -1,
):
    """Replay and follow an answer's events after `after`."""
    answer = await find_answer(services.runs, services.db, message_id=message_id, owner=owner)
    return sse_response(answer.events(after))


@router.post("/{message_id}/stop")
async def stop_answer(message_id: MessageId, services: ServicesDep, owner: OwnerDep) -> dict[str, Any]:
    """Stop a live answer; it is saved `interrupted`, reason `stopped`."""
    answer = await find_answer(services.runs, services.db, message_id=message_id, owner=owner)
    stopped = await services.runs.stop(message_id, "stopped") if answer.live else False
    stored = await services.db.atransact(answers.stored_answer, message_id=message_id, owner=owner)
    return {
        "message_id": message_id,
        "conversation_id": stored.conversation_id,
        "stopped": stopped,
        "status": stored.status,
        "reason": stored.meta.get("reason"),
    }


@router.post("/{message_id}/tool_calls/{run_id}/{verb}")
async def decide_tool_call(
    message_id: MessageId,
    run_id: RunId,
    verb: Annotated[Literal["approve", "deny"], Path(description="`approve` lets the call run; `deny` refuses it.")],
    services: ServicesDep,
    owner: OwnerDep,
    body: Annotated[DecisionRequest | None, Body()] = None,
) -> dict[str, Any]:
    """Answer a tool call that waits for approval: it runs, or the model reads
    "denied by the user" and the reason."""
    decision = Decision("approved" if verb == "approve" else "denied", (body or DecisionRequest()).reason)
    return await _decide(services, message_id, run_id, owner, decision)


async def _decide(
    services: Services, message_id: str, run_id: str, owner: str | None, decision: Decision
) -> dict[str, Any]:
    answer = await find_answer(services.runs, services.db, message_id=message_id, owner=owner)
    decision.by = owner
    if answer.live is None:  # the answer has ended: a call it made was decided already, or never asked
        decided = await services.db.atransact(answers.tool_call_approval, message_id=message_id, run_id=run_id)
        if decided:
            raise AlreadyDecidedError(f"tool call {run_id!r} was already {decided}")
    await services.runs.decide(message_id, run_id, decision)
    return {"message_id": message_id, "run_id": run_id, "approval": decision.status}
