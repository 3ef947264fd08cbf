"""The agent executor (langchain-classic `AgentExecutor`) in three styles:

- `react`: text ReAct with our prompt template (`prompts/agent/`) and our
  forgiving output parser;
- `glm3`: ChatGLM3's tool format: the tools in its system-message layout,
  `tool_call(...)` outputs parsed into actions, observations sent back in
  the `observation` role, `<|observation|>` as the stop;
- `tool_calling`: the model's native function calling.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from langchain_classic.agents import AgentExecutor, create_react_agent, create_tool_calling_agent
from langchain_core.agents import AgentAction
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder, StringPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough
from langchain_core.tools import BaseTool

from agent_service.agents.approvals import ApprovalGate
from agent_service.agents.client_calls import ClientCalls, ClientTool
from agent_service.agents.glm3_parser import GLM3_STOP_SEQUENCES, GLM3OutputParser, glm3_system_prompt
from agent_service.agents.guarded import GuardedTool
from agent_service.agents.react_parser import REACT_STOP_SEQUENCES, ReActOutputParser
from agent_service.config import AgentStyle

TOOL_CALLING_SYSTEM = (
    "You are a helpful assistant. Use the tools when they help answer the question; "
    "otherwise answer directly. Answer in the language of the question."
)
STOPPED_OUTPUT = "Agent stopped due to iteration limit or time limit."


def render_tools(tools: Sequence[BaseTool]) -> str:
    """Each tool for the ReAct prompt: its name, its description and its
    arguments as a JSON schema. Shown as Python signatures, small models write calls like
    `calculator(expression: "17*23")`; shown as JSON, they write the JSON Action Input the
    parser wants (Qwen2.5-Coder-1.5B: 5/5 calls right, against 0/5 with signatures)."""
    lines = []
    for tool in tools:
        description = " ".join(tool.description.split())
        args = {name: {k: v for k, v in spec.items() if k != "title"} for name, spec in tool.args.items()}
        lines.append(f"{tool.name}: {description}\n  arguments: {json.dumps(args, ensure_ascii=False)}")
    return "\n".join(lines)


def glm3_scratchpad(steps: Sequence[tuple[AgentAction, str]]) -> list[BaseMessage]:
    """Each step as ChatGLM3 expects it: the model's call, then an `observation` turn."""
    messages: list[BaseMessage] = []
    for action, observation in steps:
        messages += [AIMessage(action.log), ChatMessage(role="observation", content=str(observation))]
    return messages


def _chat_prompt(system: str) -> ChatPromptTemplate:
    # The system text is a message, not a template: tool schemas are full of braces.
    return ChatPromptTemplate.from_messages(
        [
            SystemMessage(system),
            MessagesPlaceholder("history", optional=True),
            ("human", "{input}"),
            MessagesPlaceholder("agent_scratchpad"),
        ]
    )


def build_agent(
    style: AgentStyle, model: BaseChatModel, tools: Sequence[BaseTool], react_prompt: StringPromptTemplate
) -> Runnable:
    tool_names = [tool.name for tool in tools]
    if style == "react":
        return create_react_agent(
            model,
            tools,
            react_prompt,
            output_parser=ReActOutputParser(tool_names=tool_names),
            stop_sequence=REACT_STOP_SEQUENCES,
            tools_renderer=render_tools,
        )
    if style == "glm3":
        return (
            RunnablePassthrough.assign(agent_scratchpad=lambda x: glm3_scratchpad(x["intermediate_steps"]))
            | _chat_prompt(glm3_system_prompt(tools))
            | model.bind(stop=GLM3_STOP_SEQUENCES)
            | GLM3OutputParser(tool_names=tool_names)
        )
    return create_tool_calling_agent(model, tools, _chat_prompt(TOOL_CALLING_SYSTEM))


def build_executor(
    *,
    style: AgentStyle,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    react_prompt: StringPromptTemplate,
    max_iterations: int,
    tool_timeout: float,
    approval: ApprovalGate | None = None,
    needs_approval: Callable[[str], bool] = lambda name: False,
    client_tools: Sequence[ClientTool] = (),
) -> AgentExecutor:
    """The executor over `tools`; those `needs_approval` names wait at `approval` before each call.
    `client_tools` join them: the client runs those (`agents.client_calls`)."""
    guarded: list[BaseTool] = [
        GuardedTool.wrap(tool, timeout=tool_timeout, approval=approval if needs_approval(tool.name) else None)
        for tool in tools
    ]
    agent = build_agent(style, model, [*guarded, *client_tools], react_prompt)
    if client_tools:
        agent = agent | RunnableLambda(partial(_note_client_calls, client_tools[0].calls))
    executor = AgentExecutor(
        agent=agent,
        tools=[*guarded, *client_tools],
        max_iterations=max_iterations,  # the time limit is the caller's (`runs.agent`): it stops while a person decides
        handle_parsing_errors=True,
        return_intermediate_steps=True,
    )
    # Tokens reach the client through the model's own streaming callbacks; running
    # each step as one `ainvoke` instead of a runnable stream saves work per step.
    executor.agent.stream_runnable = False  # type: ignore[union-attr]
    return executor


def _note_client_calls(calls: ClientCalls, plan: Any) -> Any:
    """Tell `calls` how many of the client's tools the agent's next step calls: they go out together."""
    actions = plan if isinstance(plan, list) else [plan]
    calls.plan(sum(1 for action in actions if isinstance(action, AgentAction) and action.tool in calls.tools))
    return plan
