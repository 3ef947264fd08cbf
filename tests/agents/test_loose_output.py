"""Both text parsers against loosely written output: keys in any case, tool names
off by case, spaces, hyphens or underscores, JSON action blobs in code fences."""

from __future__ import annotations

import pytest
from langchain_core.agents import AgentAction, AgentFinish

from agent_service.agents.glm3_parser import GLM3OutputParser
from agent_service.agents.react_parser import ReActOutputParser, registered_name

TOOLS = ["calculator", "unit_converter", "current_time", "search_knowledge_base"]
PARSERS = {"react": ReActOutputParser(tool_names=TOOLS), "glm3": GLM3OutputParser(tool_names=TOOLS)}

REACT_ACTIONS = [
    ('action: calculator\naction input: {"expression": "2+2"}', "calculator", {"expression": "2+2"}),
    ('ACTION: calculator\nACTION INPUT: {"expression": "2+2"}', "calculator", {"expression": "2+2"}),
    ('Thought: convert.\naCtIoN: Unit Converter\nAction input: {"value": 3}', "unit_converter", {"value": 3}),
    ('Action: UNIT-CONVERTER\nAction Input: {"value": 3}', "unit_converter", {"value": 3}),
    ("Action: current time\nAction Input: UTC", "current_time", "UTC"),
    ("Action: Current_Time\nAction Input: UTC", "current_time", "UTC"),
    ('Action: searchKnowledgeBase\nAction Input: {"query": "pumps"}', "search_knowledge_base", {"query": "pumps"}),
]

# Either style of model may answer with a JSON blob in a code fence.
FENCED_ACTIONS = [
    ('```json\n{"action": "Calculator", "action_input": {"expression": "2+2"}}\n```', "calculator"),
    ('I will compute it.\n```json\n{"action": "calculator", "action_input": {"expression": "2+2"}}\n```', "calculator"),
    ('```\n{"name": "unit-converter", "parameters": {"value": 3}}\n```', "unit_converter"),
    ('Let me check.\n```json\n{"name": "Unit Converter", "arguments": "{\\"value\\": 3}"}\n```', "unit_converter"),
    ('```JSON\n{"tool": "CURRENT_TIME", "tool_input": "UTC"}\n```', "current_time"),
]

FENCED_FINISHES = [
    ('```json\n{"action": "Final Answer", "action_input": "It is 4."}\n```', "It is 4."),
    ('Done.\n```json\n{"action": "final_answer", "action_input": "It is 4."}\n```', "It is 4."),
    ('```\n{"action": "FINAL-ANSWER", "action_input": "It is 4."}\n```', "It is 4."),
]


@pytest.mark.parametrize(("text", "tool", "tool_input"), REACT_ACTIONS)
def test_react_reads_keys_in_any_case_and_loose_tool_names(text: str, tool: str, tool_input) -> None:
    action = PARSERS["react"].parse(text)

    assert isinstance(action, AgentAction), action
    assert (action.tool, action.tool_input) == (tool, tool_input)


@pytest.mark.parametrize("style", PARSERS)
@pytest.mark.parametrize(("text", "tool"), FENCED_ACTIONS)
def test_a_fenced_json_action_is_an_action_in_either_style(style: str, text: str, tool: str) -> None:
    action = PARSERS[style].parse(text)

    assert isinstance(action, AgentAction), action
    assert action.tool == tool


@pytest.mark.parametrize("style", PARSERS)
@pytest.mark.parametrize(("text", "answer"), FENCED_FINISHES)
def test_a_fenced_json_final_answer_is_the_answer_in_either_style(style: str, text: str, answer: str) -> None:
    finish = PARSERS[style].parse(text)

    assert isinstance(finish, AgentFinish), finish
    assert finish.return_values == {"output": answer}


def test_glm3_reads_a_loose_tool_name_before_its_tool_call() -> None:
    action = PARSERS["glm3"].parse('Unit-Converter\n```python\ntool_call(value=3, unit="km")\n```')

    assert isinstance(action, AgentAction)
    assert (action.tool, action.tool_input) == ("unit_converter", {"value": 3, "unit": "km"})


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("calculator", "calculator"),
        ("web search", "web search"),  # no registered tool is close: as written, for InvalidTool
        ("unitconverter", "unit_converter"),
        ("calculater", "calculater"),  # a misspelling is not a loose spelling
    ],
)
def test_only_case_spaces_hyphens_and_underscores_are_forgiven(written: str, meant: str) -> None:
    assert registered_name(written, TOOLS) == meant


def test_two_registered_tools_with_one_loose_name_are_not_guessed_between() -> None:
    assert registered_name("my tool", ["my_tool", "my-tool"]) == "my tool"


# An action written as a Python call on the Action: line, with keyword or positional arguments.
REACT_CALLS = [
    ('Thought: add.\nAction: calculator(expression="2**10 + 3")', "calculator", {"expression": "2**10 + 3"}),
    (
        "Action: `unit_converter(value=3, from_unit='km', to_unit='mi')`",
        "unit_converter",
        {"value": 3, "from_unit": "km", "to_unit": "mi"},
    ),
    ('Action: current_time("Europe/Paris")', "current_time", "Europe/Paris"),
    (
        'Action: search_knowledge_base(knowledge_base="samples", query="port", top_k=null)',
        "search_knowledge_base",
        {"knowledge_base": "samples", "query": "port", "top_k": None},
    ),
]


@pytest.mark.parametrize(("text", "tool", "tool_input"), REACT_CALLS)
def test_react_reads_an_action_written_as_a_python_call(text: str, tool: str, tool_input) -> None:
    parsed = PARSERS["react"].parse(text)

    assert isinstance(parsed, AgentAction)
    assert (parsed.tool, parsed.tool_input) == (tool, tool_input)


# ChatGLM3 replies that call the tool by its own name instead of tool_call(...).
GLM3_CALLS = [
    ('```python\ncalculator(expression="2+2")\n```', "calculator", {"expression": "2+2"}),
    ('calculator\n```python\ncalculator(expression="3*3")\n```', "calculator", {"expression": "3*3"}),
    (
        "I will convert it. unit_converter(value=5, from_unit='kg', to_unit='lb')",
        "unit_converter",
        {"value": 5, "from_unit": "kg", "to_unit": "lb"},
    ),
]


@pytest.mark.parametrize(("text", "tool", "tool_input"), GLM3_CALLS)
def test_glm3_reads_a_tool_called_by_its_own_name(text: str, tool: str, tool_input) -> None:
    parsed = PARSERS["glm3"].parse(text)

    assert isinstance(parsed, AgentAction)
    assert (parsed.tool, parsed.tool_input) == (tool, tool_input)


def test_prose_that_mentions_a_tool_is_still_an_answer() -> None:
    """A tool's name in a sentence, not called, is not a call."""
    for style in ("react", "glm3"):
        parsed = PARSERS[style].parse("The calculator says 4, so the answer is 4.")
        assert isinstance(parsed, AgentFinish), style
