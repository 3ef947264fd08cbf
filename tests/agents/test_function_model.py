"""The agent's logic with an in-process model (`FunctionChatModel`): no sockets, no upstream.
The function sees what the agent sends (messages and tools) and answers as a model would."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import tool

from agent_service.agents.executor import build_executor
from agent_service.llm.function_model import FunctionChatModel
from agent_service.prompts import PromptStore

REPO = Path(__file__).resolve().parents[2]


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def executor(style: str, function) -> object:
    return build_executor(
        style=style,
        model=FunctionChatModel(function=function, streaming=True),
        tools=[multiply],
        react_prompt=PromptStore(REPO / "prompts").get("agent", "default"),
        max_iterations=4,
        tool_timeout=5,
    )


async def test_a_native_tool_calling_agent_calls_the_tool_and_answers_from_its_result():
    seen: list[tuple[list[BaseMessage], list[dict]]] = []

    def model(messages: list[BaseMessage], tools: list[dict]) -> str | AIMessage:
        seen.append((messages, tools))
        if isinstance(messages[-1], ToolMessage):
            return f"It is {messages[-1].content}."
        return AIMessage("", tool_calls=[{"name": "multiply", "args": {"a": 6, "b": 7}, "id": "call_1"}])

    result = await executor("tool_calling", model).ainvoke({"input": "6 times 7?", "history": []})

    assert result["output"] == "It is 42."
    assert [tool["function"]["name"] for tool in seen[0][1]] == ["multiply"]
    assert seen[1][0][-1].tool_call_id == "call_1"


async def test_a_react_agent_reads_the_models_text_and_feeds_back_the_observation():
    def model(messages: list[BaseMessage], tools: list[dict]) -> str:
        prompt = messages[-1].text
        if "Observation: 42" in prompt:
            return "Thought: I know it now.\nFinal Answer: 42"
        return "Thought: multiply.\nAction: multiply(a=6, b=7)"

    result = await executor("react", model).ainvoke({"input": "6 times 7?", "history": ""})

    assert result["output"] == "42"
    [(action, observation)] = result["intermediate_steps"]
    assert (action.tool, action.tool_input, observation) == ("multiply", {"a": 6, "b": 7}, 42)
