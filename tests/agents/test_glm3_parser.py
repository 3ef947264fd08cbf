"""GLM3OutputParser and glm3_system_prompt against ChatGLM3's real output shapes."""

from __future__ import annotations

import json

import pytest
from langchain_core.agents import AgentAction, AgentFinish
from langchain_core.exceptions import OutputParserException
from langchain_core.tools import BaseTool, tool
from pydantic import BaseModel, Field

from agent_service.agents.glm3_parser import (
    GLM3_STOP_SEQUENCES,
    GLM3_SYSTEM_PREAMBLE,
    GLM3OutputParser,
    glm3_system_prompt,
    parse_tool_call,
)


def parse(text: str) -> AgentAction | AgentFinish:
    return GLM3OutputParser().parse(text)


def parse_action(text: str) -> AgentAction:
    result = parse(text)
    assert isinstance(result, AgentAction), result
    return result


def parse_finish(text: str) -> AgentFinish:
    result = parse(text)
    assert isinstance(result, AgentFinish), result
    return result


# --- tool_call(...) blocks ------------------------------------------------


def test_native_tool_call() -> None:
    action = parse_action('calculator\n ```python\ntool_call(expression="2+2")\n```')
    assert (action.tool, action.tool_input) == ("calculator", {"expression": "2+2"})


def test_tool_call_after_assistant_token_with_single_quotes() -> None:
    action = parse_action("<|assistant|>calculator\n```python\ntool_call(expression='2+2')\n```")
    assert (action.tool, action.tool_input) == ("calculator", {"expression": "2+2"})
    assert "<|assistant|>" not in action.log


def test_tool_call_with_several_typed_arguments() -> None:
    text = 'weather\n```python\ntool_call(city="北京", days=3, units=None, hourly=False, tags=["rain"])\n```'
    action = parse_action(text)
    assert action.tool_input == {"city": "北京", "days": 3, "units": None, "hourly": False, "tags": ["rain"]}


def test_tool_call_with_json_constants() -> None:
    action = parse_action("search\n```python\ntool_call(query='x', exact=true, limit=null)\n```")
    assert action.tool_input == {"query": "x", "exact": True, "limit": None}


def test_tool_call_without_arguments() -> None:
    action = parse_action("current_time\n```python\ntool_call()\n```")
    assert (action.tool, action.tool_input) == ("current_time", {})


def test_tool_call_with_single_positional_argument() -> None:
    action = parse_action("calculator\n```python\ntool_call('2+2')\n```")
    assert (action.tool, action.tool_input) == ("calculator", "2+2")


def test_tool_call_non_literal_value_is_kept_as_source_text() -> None:
    # Never evaluated: an expression stays text for the tool to deal with.
    action = parse_action("calculator\n```python\ntool_call(expression=2 ** 10 + x)\n```")
    assert action.tool_input == {"expression": "2 ** 10 + x"}


def test_tool_call_cannot_run_code() -> None:
    text = "calculator\n```python\ntool_call(expression=__import__('os').system('echo hi'))\n```"
    assert parse_action(text).tool_input == {"expression": "__import__('os').system('echo hi')"}


def test_truncated_tool_call_is_closed() -> None:
    action = parse_action('search\n```python\ntool_call(query="langchain agents')
    assert action.tool_input == {"query": "langchain agents"}


def test_tool_call_followed_by_prose() -> None:
    action = parse_action("search\n```python\ntool_call(query='x')\n```\nI will wait for the result.")
    assert action.tool_input == {"query": "x"}


def test_tool_call_without_fence() -> None:
    action = parse_action("calculator\ntool_call(expression='2+2')")
    assert (action.tool, action.tool_input) == ("calculator", {"expression": "2+2"})


def test_tool_name_and_fence_on_one_line() -> None:
    action = parse_action("calculator```python\ntool_call(expression='2+2')\n```")
    assert action.tool == "calculator"


def test_tool_call_after_prose_and_mid_text_assistant_token() -> None:
    text = "Let me work that out.<|assistant|>calculator\n```python\ntool_call(expression='2+2')\n```"
    action = parse_action(text)
    assert (action.tool, action.tool_input) == ("calculator", {"expression": "2+2"})


def test_hallucinated_observation_is_dropped() -> None:
    text = "<|assistant|>calculator\n```python\ntool_call(expression='2+2')\n```<|observation|>4<|assistant|>4"
    action = parse_action(text)
    assert action.tool_input == {"expression": "2+2"}
    assert action.log.endswith("```")


def test_tool_call_without_tool_name_asks_the_model_to_fix_it() -> None:
    with pytest.raises(OutputParserException) as caught:
        parse("```python\ntool_call(expression='2+2')\n```")
    assert caught.value.send_to_llm


def test_parse_tool_call_on_plain_code() -> None:
    assert parse_tool_call("tool_call(a=1, b='two')") == {"a": 1, "b": "two"}


# --- JSON forms -----------------------------------------------------------


def test_json_name_parameters() -> None:
    action = parse_action('{"name": "calculator", "parameters": {"expression": "2+2"}}')
    assert (action.tool, action.tool_input) == ("calculator", {"expression": "2+2"})


def test_fenced_json_name_parameters() -> None:
    action = parse_action('```json\n{"name": "calculator", "parameters": {"expression": "2+2"}}\n```')
    assert (action.tool, action.tool_input) == ("calculator", {"expression": "2+2"})


def test_python_repr_of_the_call_dict() -> None:
    # ChatGLM3's HF chat() returns a dict; some servers pass on its str().
    action = parse_action("{'name': 'calculator', 'parameters': {'expression': '2+2'}}")
    assert (action.tool, action.tool_input) == ("calculator", {"expression": "2+2"})


def test_json_that_is_not_a_call_is_a_finish() -> None:
    text = '{"name": "Alice", "age": 30}'
    assert parse_finish(text).return_values == {"output": text}


# --- plain answers --------------------------------------------------------


def test_plain_text_is_a_finish() -> None:
    assert parse_finish("2 + 2 = 4.").return_values == {"output": "2 + 2 = 4."}


def test_special_tokens_are_stripped_from_the_answer() -> None:
    finish = parse_finish("<|assistant|>\n北京今天晴，最高气温 21°C。")
    assert finish.return_values == {"output": "北京今天晴，最高气温 21°C。"}


def test_answer_stops_at_a_user_token() -> None:
    finish = parse_finish("<|assistant|>\nIt is 4.<|user|>\nAnd 3+3?")
    assert finish.return_values == {"output": "It is 4."}


def test_leading_observation_token_does_not_end_the_reply() -> None:
    finish = parse_finish("<|observation|>\nThe result is 4.")
    assert finish.return_values == {"output": "The result is 4."}


def test_code_in_an_answer_is_not_a_tool_call() -> None:
    text = "Here is how:\n```python\nprint(2 + 2)\n```"
    assert parse_finish(text).return_values == {"output": text}


def test_stop_sequences() -> None:
    assert GLM3_STOP_SEQUENCES == ["<|observation|>", "<|user|>"]


# --- system prompt --------------------------------------------------------


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return expression


class WeatherArgs(BaseModel):
    city: str = Field(description="城市名称")
    days: int = Field(default=1, description="Forecast length in days")


@tool("weather", args_schema=WeatherArgs)
def weather(city: str, days: int = 1) -> str:
    """查询天气预报"""
    return city


@tool
def current_time() -> str:
    """The current time."""
    return "12:00"


def _tools_from_prompt(prompt: str) -> list[dict]:
    preamble, _, tools_json = prompt.partition("\n")
    assert preamble == GLM3_SYSTEM_PREAMBLE
    return json.loads(tools_json)


def test_system_prompt_layout() -> None:
    prompt = glm3_system_prompt([calculator])
    assert prompt.startswith(
        "Answer the following questions as best as you can. You have access to the following tools:\n[\n    {"
    )
    assert _tools_from_prompt(prompt) == [
        {
            "name": "calculator",
            "description": "Evaluate an arithmetic expression.",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string"}},
                "required": ["expression"],
            },
        }
    ]


def test_system_prompt_keeps_non_ascii_and_descriptions() -> None:
    prompt = glm3_system_prompt([weather])
    assert "城市名称" in prompt and "查询天气预报" in prompt  # ensure_ascii=False
    [spec] = _tools_from_prompt(prompt)
    assert spec["parameters"]["properties"] == {
        "city": {"type": "string", "description": "城市名称"},
        "days": {"type": "integer", "default": 1, "description": "Forecast length in days"},
    }
    assert spec["parameters"]["required"] == ["city"]


def test_system_prompt_tool_without_arguments() -> None:
    [spec] = _tools_from_prompt(glm3_system_prompt([current_time]))
    assert spec["parameters"] == {"type": "object", "properties": {}}


def test_system_prompt_lists_tools_in_order() -> None:
    tools: list[BaseTool] = [calculator, weather, current_time]
    names = [spec["name"] for spec in _tools_from_prompt(glm3_system_prompt(tools))]
    assert names == ["calculator", "weather", "current_time"]


def test_system_prompt_without_tools() -> None:
    assert glm3_system_prompt([]) == GLM3_SYSTEM_PREAMBLE + "\n[]"
