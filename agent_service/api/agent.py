"""`/chat/agent_chat`: the agent, its tool calls streamed as they happen."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from agent_service.agents.executor import build_executor
from agent_service.api.deps import ServicesDep
from agent_service.api.errors import error_body
from agent_service.api.schemas import AgentChatRequest
from agent_service.api.turns import start_turn
from agent_service.chains.agent_chat import stream_agent
from agent_service.chains.llm_chat import history_as_text
from agent_service.memory import fit_history, history_budget
from agent_service.streaming.events import (
    DoneEvent,
    ErrorEvent,
    FinalAnswerEvent,
    TokenEvent,
    ToolEndEvent,
    ToolErrorEvent,
)
from agent_service.streaming.responses import collect, sse_response

router = APIRouter(tags=["agent"])


@router.post("/chat/agent_chat")
async def agent_chat(body: AgentChatRequest, services: ServicesDep):
    """Chat with the agent: it calls tools, and every step streams to the client."""
    settings = services.settings
    model_name = services.models.resolve(body.model_name)
    model_config = services.models.config(model_name)
    react_prompt = services.prompts.get("agent", body.prompt_name)
    tools = services.tools.select(body.tools)
    model = services.models.chat_model(model_name, temperature=body.temperature, max_tokens=body.max_tokens)
    style = model_config.effective_agent_style(model_name)

    turn = await start_turn(services, body, chat_type="agent_chat", model_name=model_name)
    budget = (
        history_budget(context_window=model_config.context_window, max_tokens=body.max_tokens, prompt=body.query) // 2
    )  # the other half is for tool descriptions and the agent's own steps
    history = fit_history(turn.history, budget)
    executor = build_executor(
        style=style,
        model=model,
        tools=tools,
        react_prompt=react_prompt,
        max_iterations=settings.agent_max_iterations,
        max_execution_time=settings.agent_max_execution_time,
        tool_timeout=settings.tool_timeout,
    )
    inputs = {"input": body.query, "history": history_as_text(history) if style == "react" else history}
    events = stream_agent(db=services.db, turn=turn, executor=executor, inputs=inputs)
    if body.stream:
        return sse_response(events)

    collected = await collect(events)
    final = next((e.final_answer for e in collected if isinstance(e, FinalAnswerEvent)), "")
    done = next(e for e in collected if isinstance(e, DoneEvent))
    answer = {
        **turn.ids,
        "answer": "".join(e.text for e in collected if isinstance(e, TokenEvent)),
        "final_answer": final,
        "tools": [
            {
                "tool": e.tool,
                "run_id": e.run_id,
                "status": "error" if isinstance(e, ToolErrorEvent) else "ok",
                "output": getattr(e, "output", None),
                "error": getattr(e, "error", None),
            }
            for e in collected
            if isinstance(e, ToolEndEvent | ToolErrorEvent)
        ],
        "status": done.status,
        "finish_reason": done.finish_reason,
    }
    if error := next((e for e in collected if isinstance(e, ErrorEvent)), None):
        return JSONResponse(error_body(502, error.message, **answer), status_code=502)
    return answer
