"""`/tools`: list the loaded tools, call one directly, reload the tools dir."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException
from langchain_core.tools import ToolException
from pydantic import BaseModel, Field, ValidationError

from agent_service.api.deps import ServicesDep
from agent_service.runs.answer import describe_error

router = APIRouter(prefix="/tools", tags=["tools"])


class ToolCallRequest(BaseModel):
    name: str
    tool_input: dict[str, Any] | str = Field(
        default_factory=dict, description="An object of arguments, or a string for a one-argument tool."
    )


@router.get("")
def list_tools(services: ServicesDep) -> dict[str, Any]:
    """Every tool (name, description, argument schema, `source`: builtin, module or `mcp:<server>`,
    `requires_approval`), and what failed: modules, MCP servers, MCP tools renamed to avoid a clash."""
    return {"tools": services.tools.describe(), "errors": services.tools.problems()}


@router.post("/call")
async def call_tool(body: ToolCallRequest, services: ServicesDep) -> dict[str, Any]:
    """Run one tool with the given input and return its output. A tool that requires a person's
    approval runs only inside an agent turn, where the call waits for that approval (and is recorded)."""
    tool = await services.tools.aget(body.name)
    if services.tools.needs_approval(body.name):
        raise HTTPException(
            403,
            f"{body.name} requires a person's approval before it runs: call it through the agent "
            "(/chat/agent_chat), where the call waits for approval and is recorded",
        )
    timeout = services.settings.tool_timeout
    try:
        output = await asyncio.wait_for(tool.ainvoke(body.tool_input), timeout)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors())
        raise HTTPException(422, f"invalid tool_input for {body.name}: {problems}") from None
    except ToolException as exc:
        raise HTTPException(400, f"{body.name}: {exc}") from None
    except TimeoutError:
        raise HTTPException(504, f"{body.name} timed out after {timeout:g} s") from None
    except Exception as exc:  # noqa: BLE001 - a tool's bug is reported, not a 500 traceback
        raise HTTPException(500, f"{body.name} failed: {describe_error(exc)}") from None
    return {"name": body.name, "output": output if isinstance(output, str | int | float | list | dict) else str(output)}


@router.post("/reload")
async def reload_tools(services: ServicesDep) -> dict[str, Any]:
    """Read the tools dir again and reconnect the MCP servers; a duplicate name keeps the tools already loaded."""
    services.tools = await anyio.to_thread.run_sync(services.tools.reload)
    if services.tools.mcp is not None:
        await services.tools.mcp.reconnect(taken=services.tools.module_names())
    return list_tools(services)
