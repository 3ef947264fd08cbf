"""The agent event handler's record of tool calls when a run is stopped or a tool fails."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from agent_service.agents.events import AgentEventHandler


def started(handler: AgentEventHandler, tool: str):
    run_id = uuid4()
    asyncio.run(handler.on_tool_start({"name": tool}, '{"seconds": 30}', run_id=run_id))
    return run_id


def test_a_cancelled_call_is_named_by_whoever_stopped_the_run():
    handler = AgentEventHandler(conversation_id="c", message_id="m")
    run_id = started(handler, "slow")

    asyncio.run(handler.on_tool_error(asyncio.CancelledError(), run_id=run_id))
    handler.finish_open_calls("client_disconnected")

    [call] = handler.tool_calls
    assert call.tool == "slow" and call.error == "client_disconnected" and call.ended_at is not None


def test_a_failing_tool_records_its_error():
    handler = AgentEventHandler(conversation_id="c", message_id="m")
    run_id = started(handler, "broken")

    asyncio.run(handler.on_tool_error(ValueError("no such file"), run_id=run_id))
    handler.finish_open_calls("client_disconnected")

    [call] = handler.tool_calls
    assert call.error == "ValueError: no such file"
