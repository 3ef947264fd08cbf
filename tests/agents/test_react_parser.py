"""ReActOutputParser against the text real models write, one form per test."""

from __future__ import annotations

import pytest
from langchain_core.agents import AgentAction, AgentFinish
from langchain_core.exceptions import OutputParserException

from agent_service.agents.react_parser import (
    REACT_STOP_SEQUENCES,
    ReActOutputParser,
    clean_tool_name,
    parse_json_object,
    parse_tool_input,
)


def parse(text: str) -> AgentAction | AgentFinish:
    return ReActOutputParser().parse(text)


def parse_action(text: str) -> AgentAction:
    result = parse(text)
    assert isinstance(result, AgentAction), result
    return result


def parse_finish(text: str) -> AgentFinish:
    result = parse(text)
    assert isinstance(result, AgentFinish), result
    return result


# --- the canonical format -------------------------------------------------


def test_textbook_action() -> None:
    text = "Thought: I need to compute this.\nAction: calculator\nAction Input: 2+2"
    action = parse_action(text)
    assert (action.tool, action.tool_input, action.log) == ("calculator", "2+2", text)


def test_final_answer_alone_is_a_finish() -> None:
    text = "Thought: I now know the final answer\nFinal Answer: The result is 4."
    finish = parse_finish(text)
    assert finish.return_values == {"output": "The result is 4."}
    assert finish.log == text


def test_multiline_final_answer_is_kept_whole() -> None:
    text = "Final Answer: Two steps:\n1. Add 2 and 2.\n2. Report 4."
    assert parse_finish(text).return_values["output"] == "Two steps:\n1. Add 2 and 2.\n2. Report 4."


def test_final_answer_before_an_action_wins() -> None:
    # Whatever comes first decides; the answer text runs to the end.
    finish = parse_finish("Final Answer: 4\nAction: calculator\nAction Input: 2+2")
    assert finish.return_values["output"].startswith("4")


# --- hallucinated observations and answers --------------------------------


def test_hallucinated_observation_and_answer_are_dropped() -> None:
    text = (
        "Thought: I should use the calculator.\n"
        "Action: calculator\n"
        "Action Input: 2+2\n"
        "Observation: 4\n"
        "Thought: I now know the final answer\n"
        "Final Answer: 4"
    )
    action = parse_action(text)
    assert (action.tool, action.tool_input) == ("calculator", "2+2")
    # The executor replays the log to the model: the invented result must not be in it.
    assert action.log == "Thought: I should use the calculator.\nAction: calculator\nAction Input: 2+2"


def test_final_answer_right_after_an_action_is_a_guess() -> None:
    action = parse_action("Action: calculator\nAction Input: 2+2\nFinal Answer: 4")
    assert (action.tool, action.tool_input) == ("calculator", "2+2")
    assert "Final Answer" not in action.log


def test_hallucinated_full_width_observation_is_dropped() -> None:
    action = parse_action("Action: search\nAction Input: weather in Paris\nObservation：Sunny, 21°C")
    assert action.tool_input == "weather in Paris"
    assert "Sunny" not in action.log


def test_only_the_first_of_several_actions_is_taken() -> None:
    action = parse_action("Action: search\nAction Input: Paris\nAction: search\nAction Input: London")
    assert (action.tool, action.tool_input) == ("search", "Paris")
    assert "London" not in action.log


# --- code fences and JSON blobs -------------------------------------------


def test_json_blob_in_a_fence() -> None:
    text = 'Thought: use the tool\n```json\n{"action": "calculator", "action_input": "2+2"}\n```'
    action = parse_action(text)
    assert (action.tool, action.tool_input, action.log) == ("calculator", "2+2", text)


def test_json_blob_after_an_action_label_structured_chat_style() -> None:
    text = (
        "Thought: I need to calculate\n"
        "Action:\n"
        "```\n"
        '{\n  "action": "calculator",\n  "action_input": {"expression": "2+2"}\n}\n'
        "```\n"
        "Observation: 4"
    )
    action = parse_action(text)
    assert (action.tool, action.tool_input) == ("calculator", {"expression": "2+2"})
    assert not action.log.endswith("4")


def test_json_blob_with_name_and_parameters() -> None:
    action = parse_action('```json\n{"name": "calculator", "parameters": {"expression": "2+2"}}\n```')
    assert (action.tool, action.tool_input) == ("calculator", {"expression": "2+2"})


def test_json_blob_with_name_and_string_encoded_arguments() -> None:
    # OpenAI function-call style: "arguments" is itself a JSON string.
    action = parse_action('{"name": "calculator", "arguments": "{\\"expression\\": \\"2+2\\"}"}')
    assert (action.tool, action.tool_input) == ("calculator", {"expression": "2+2"})


def test_bare_json_blob_without_fence() -> None:
    action = parse_action('{"action": "search", "action_input": "LangChain"}')
    assert (action.tool, action.tool_input) == ("search", "LangChain")


def test_unclosed_fence_cut_by_stop_sequence() -> None:
    action = parse_action('```json\n{"action": "search", "action_input": "LangChain"}\n')
    assert (action.tool, action.tool_input) == ("search", "LangChain")


def test_json_blob_with_final_answer_action_is_a_finish() -> None:
    finish = parse_finish('```json\n{"action": "Final Answer", "action_input": "It is 4."}\n```')
    assert finish.return_values == {"output": "It is 4."}


def test_json_answer_that_is_not_an_action_is_a_finish() -> None:
    # A user who asked for JSON gets JSON back; {"name": ...} alone is not a tool call.
    text = '```json\n{"name": "Alice", "age": 30}\n```'
    assert parse_finish(text).return_values == {"output": text}


def test_action_lines_wrapped_in_a_fence() -> None:
    text = "```\nAction: calculator\nAction Input: 2+2\n```"
    action = parse_action(text)
    assert (action.tool, action.tool_input) == ("calculator", "2+2")


def test_action_input_in_a_json_fence() -> None:
    action = parse_action('Action: calculator\nAction Input:\n```json\n{"expression": "2+2"}\n```')
    assert action.tool_input == {"expression": "2+2"}


def test_json_object_under_action_without_input_label() -> None:
    action = parse_action('Action: calculator\n{"expression": "2+2"}')
    assert (action.tool, action.tool_input) == ("calculator", {"expression": "2+2"})


# --- action inputs --------------------------------------------------------


def test_json_action_input_becomes_a_dict() -> None:
    action = parse_action('Action: calculator\nAction Input: {"expression": "2+2"}')
    assert action.tool_input == {"expression": "2+2"}


def test_single_quoted_action_input_becomes_a_dict() -> None:
    action = parse_action("Action: calculator\nAction Input: {'expression': '2+2'}")
    assert action.tool_input == {"expression": "2+2"}


def test_truncated_json_action_input_is_repaired() -> None:
    action = parse_action('Action: calculator\nAction Input: {"expression": "2+2')
    assert action.tool_input == {"expression": "2+2"}


def test_multiline_json_action_input_with_trailing_prose() -> None:
    text = 'Action: weather\nAction Input: {\n  "city": "Paris",\n  "days": 3\n}\nI will wait for the result.'
    assert parse_action(text).tool_input == {"city": "Paris", "days": 3}


def test_quoted_string_action_input_is_unquoted() -> None:
    assert parse_action('Action: search\nAction Input: "weather in Paris"').tool_input == "weather in Paris"


def test_single_quoted_string_action_input_is_unquoted() -> None:
    assert parse_action("Action: search\nAction Input: 'weather in Paris'  ").tool_input == "weather in Paris"


def test_missing_action_input_is_empty_string() -> None:
    action = parse_action("Thought: I need the time.\nAction: current_time")
    assert (action.tool, action.tool_input) == ("current_time", "")


def test_empty_action_input_is_empty_string() -> None:
    assert parse_action("Action: current_time\nAction Input:\nObservation:").tool_input == ""


def test_none_action_input_is_empty_string() -> None:
    assert parse_action("Action: current_time\nAction Input: None").tool_input == ""


def test_prose_under_action_without_input_label_is_not_an_input() -> None:
    action = parse_action("Action: current_time\nI'll check the clock now.")
    assert (action.tool, action.tool_input) == ("current_time", "")


# --- labels: case, colons, whitespace, markdown, language -----------------


def test_labels_in_any_case() -> None:
    action = parse_action("thought: add\naction: calculator\nACTION INPUT: 2+2")
    assert (action.tool, action.tool_input) == ("calculator", "2+2")


def test_full_width_colons() -> None:
    action = parse_action("Thought：计算\nAction：calculator\nAction Input：2+2")
    assert (action.tool, action.tool_input) == ("calculator", "2+2")


def test_extra_whitespace() -> None:
    action = parse_action("  Thought :  add\n\n  Action  :   calculator  \n  Action   Input :   2+2  \n\n")
    assert (action.tool, action.tool_input) == ("calculator", "2+2")


def test_underscore_and_numbered_labels() -> None:
    action = parse_action("Action 1: calculator\nAction_Input 1: 2+2")
    assert (action.tool, action.tool_input) == ("calculator", "2+2")


def test_markdown_bold_labels() -> None:
    action = parse_action("**Thought:** add them\n**Action:** calculator\n**Action Input**: 2+2")
    assert (action.tool, action.tool_input) == ("calculator", "2+2")


def test_chinese_labels() -> None:
    action = parse_action("思考：需要计算\n行动：calculator\n行动输入：2+2\n观察：4")
    assert (action.tool, action.tool_input) == ("calculator", "2+2")
    assert "观察" not in action.log


def test_chinese_final_answer() -> None:
    assert parse_finish("思考：我知道答案了\n最终答案：4").return_values == {"output": "4"}


def test_run_on_single_line_action() -> None:
    action = parse_action("I should add these. Action: calculator Action Input: 2+2")
    assert (action.tool, action.tool_input) == ("calculator", "2+2")


def test_run_on_single_line_final_answer() -> None:
    finish = parse_finish("Thought: I know this. Final Answer: Paris")
    assert finish.return_values == {"output": "Paris"}


def test_action_word_in_prose_is_not_an_action() -> None:
    text = "The best course of action: restart the router and wait a minute."
    assert parse_finish(text).return_values == {"output": text}


# --- tool names -----------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ["[calculator]", "`calculator`", '"calculator"', "'calculator'", "**calculator**", "calculator.", "<calculator>"],
)
def test_wrapped_tool_name_is_cleaned(written: str) -> None:
    assert parse_action(f"Action: {written}\nAction Input: 2+2").tool == "calculator"


def test_react_paper_bracket_call() -> None:
    action = parse_action("Thought: I need to search.\nAction: Search[Apple Remote]")
    assert (action.tool, action.tool_input) == ("Search", "Apple Remote")


def test_unknown_tool_is_returned_for_the_executor_to_reject() -> None:
    # AgentExecutor answers an unknown name with an InvalidTool observation
    # listing the valid tools; the parser does not know the tool list.
    action = parse_action("Action: web_browser\nAction Input: https://example.com")
    assert (action.tool, action.tool_input) == ("web_browser", "https://example.com")


def test_action_named_final_answer_is_a_finish() -> None:
    finish = parse_finish('Action: Final Answer\nAction Input: "The result is 4."')
    assert finish.return_values == {"output": "The result is 4."}


def test_action_none_with_final_answer_is_a_finish() -> None:
    finish = parse_finish("Thought: No tool needed.\nAction: None\nFinal Answer: Hello!")
    assert finish.return_values == {"output": "Hello!"}


# --- no action ------------------------------------------------------------


def test_plain_text_is_a_finish() -> None:
    text = "  Paris is the capital of France.\n"
    finish = parse_finish(text)
    assert finish.return_values == {"output": "Paris is the capital of France."}
    assert finish.log == text


def test_leading_thought_line_is_dropped_from_the_answer() -> None:
    finish = parse_finish("Thought: I can answer directly.\nParis is the capital of France.")
    assert finish.return_values == {"output": "Paris is the capital of France."}


def test_lone_thought_line_keeps_its_text() -> None:
    finish = parse_finish("Thought: Paris is the capital of France.")
    assert finish.return_values == {"output": "Paris is the capital of France."}


def test_empty_output_is_an_empty_finish() -> None:
    assert parse_finish("").return_values == {"output": ""}


# --- unparseable ----------------------------------------------------------


def test_action_without_tool_name_asks_the_model_to_fix_it() -> None:
    with pytest.raises(OutputParserException) as caught:
        parse("Thought: I need a tool.\nAction:\nAction Input: 2+2")
    assert caught.value.send_to_llm
    assert "Action:" in (caught.value.observation or "")


def test_action_input_without_action_asks_the_model_to_fix_it() -> None:
    with pytest.raises(OutputParserException) as caught:
        parse("Thought: I need to add.\nAction Input: 2+2")
    assert caught.value.send_to_llm


# --- helpers and constants ------------------------------------------------


def test_stop_sequences_cover_both_colons() -> None:
    assert REACT_STOP_SEQUENCES == ["\nObservation:", "\nObservation："]


def test_parse_tool_input_keeps_plain_strings() -> None:
    assert parse_tool_input("  SELECT * FROM users  ") == "SELECT * FROM users"


def test_parse_tool_input_decodes_json_string_literal() -> None:
    assert parse_tool_input('"line one\\nline two"') == "line one\nline two"


def test_parse_tool_input_leaves_hopeless_json_as_text() -> None:
    assert parse_tool_input("{not json at all") == "{not json at all"


def test_parse_json_object_repairs_trailing_comma_and_missing_braces() -> None:
    assert parse_json_object('{"a": {"b": [1, 2,') == {"a": {"b": [1, 2]}}


def test_parse_json_object_accepts_python_literals() -> None:
    assert parse_json_object("{'flag': True, 'value': None}") == {"flag": True, "value": None}


def test_parse_json_object_never_evaluates_code() -> None:
    assert parse_json_object("{'x': __import__('os').getcwd()}") is None


def test_clean_tool_name_takes_the_first_line() -> None:
    assert clean_tool_name("  `calculator`\nmore text") == "calculator"
