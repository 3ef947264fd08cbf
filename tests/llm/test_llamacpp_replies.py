"""What the embedded chat model makes of its model's text: tool calls written as
text, a reply that loops, a reply cut at its limit. The worker is scripted here
(the real one has its own tests): these are the chat model's own decisions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from agent_service.llm.llamacpp import CUT_AT_LIMIT, CUT_FOR_REPEATING, LlamaCppChatModel
from agent_service.llm.repetition import repeats_itself
from agent_service.llm.text_tool_calls import parse_tool_calls
from agent_service.llm.worker_client import ModelWorker


class ScriptedWorker(ModelWorker):
    def __init__(self, pieces: list[str], finish: str = "stop") -> None:
        super().__init__()
        self.pieces, self.finish, self.requests = pieces, finish, []

    def complete(self, **request: Any) -> Iterator[tuple[str, str | None]]:
        self.requests.append(request)
        for piece in self.pieces:
            yield piece, None
        yield "", self.finish


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return expression


def model(pieces: list[str], finish: str = "stop") -> LlamaCppChatModel:
    return LlamaCppChatModel(worker=ScriptedWorker(pieces, finish), embedded="smollm2-135m")


def test_a_tool_call_in_qwens_tags_is_a_tool_call_and_no_text():
    llm = model(['<tool_call>\n{"name": "calculator", ', '"arguments": {"expression": "17*23"}}\n</tool_call>'])

    reply = llm.bind_tools([calculator]).invoke("What is 17*23?")

    assert reply.content == ""
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("calculator", {"expression": "17*23"})]
    assert reply.response_metadata["finish_reason"] == "tool_calls"
    sent = llm.worker.requests[0]["params"]["tools"]
    assert sent[0]["function"]["name"] == "calculator"  # the tools went into the chat template


def test_a_fenced_json_call_is_a_tool_call():
    llm = model(['```json\n{"name": "calculator", "arguments": {"expression": "2**10 + 3"}}\n```'])

    reply = llm.bind_tools([calculator]).invoke("2**10 + 3?")

    assert reply.tool_calls[0]["args"] == {"expression": "2**10 + 3"}


def test_an_answer_with_tools_bound_streams_as_text():
    llm = model(["Paris", " is the capital", " of France."])

    chunks = list(llm.bind_tools([calculator]).stream("Capital of France?"))

    assert "".join(c.content for c in chunks) == "Paris is the capital of France."
    assert len([c for c in chunks if c.content]) == 3  # streamed, not held back
    assert not any(c.tool_call_chunks for c in chunks)


def test_json_that_names_no_tool_is_an_answer():
    text = '{"name": "Ada", "arguments": {}}'

    reply = model([text]).bind_tools([calculator]).invoke("Give me JSON")

    assert reply.content == text and reply.tool_calls == []


def test_a_history_with_tool_calls_reaches_the_template_in_openais_shape():
    llm = model(["391"])
    call = {"name": "calculator", "args": {"expression": "17*23"}, "id": "call_1"}

    llm.invoke([HumanMessage("17*23?"), AIMessage("", tool_calls=[call]), ToolMessage("391", tool_call_id="call_1")])

    assistant, tool_message = llm.worker.requests[0]["messages"][1:]
    assert assistant["tool_calls"][0]["function"] == {"name": "calculator", "arguments": {"expression": "17*23"}}
    assert tool_message == {"role": "tool", "content": "391", "tool_call_id": "call_1"}


def test_a_reply_that_loops_is_cut_and_says_so():
    paragraph = "The policy gives every employee twenty-seven vacation days a year. "
    llm = model([paragraph] * 20, finish="length")

    reply = llm.invoke("How many vacation days?")

    assert reply.content.count(paragraph) == 3
    assert reply.content.endswith(CUT_FOR_REPEATING)
    assert reply.response_metadata["finish_reason"] == "length"


def test_a_reply_cut_at_its_token_limit_says_so():
    reply = model(["Once upon a time"], finish="length").invoke("A story")

    assert reply.content == "Once upon a time" + CUT_AT_LIMIT
    assert reply.response_metadata["finish_reason"] == "length"


def test_repetition_is_a_loop_of_words_not_a_list_or_a_ruler():
    sentence = "The pump loses pressure when the filter is blocked. "
    assert repeats_itself("Intro. " + sentence * 3)
    assert not repeats_itself("Intro. " + sentence * 2)
    assert repeats_itself("Intro. " + "Apples and pears. " * 4)  # a short passage: four times
    assert not repeats_itself("Intro. " + "Apples and pears. " * 3)
    assert not repeats_itself("| a | b |\n|---|---|\n" + "-" * 300)
    assert not repeats_itself("\n".join(f"{n}. Step number {n} of the recipe" for n in range(1, 40)))
    assert not repeats_itself("x" * 100_000)  # a long run of one character: quick, and not words


def test_text_tool_calls_only_name_known_tools():
    names = {"calculator"}

    assert parse_tool_calls('<tool_call>{"name": "rm", "arguments": {}}</tool_call>', names) == []
    assert parse_tool_calls("Use the calculator: 2+2 = 4", names) == []
    assert parse_tool_calls("<tool_call>" * 5000, names) == []  # unclosed tags: linear, and nothing
    calls = parse_tool_calls('{"name": "calculator", "arguments": "{\\"expression\\": \\"1+1\\"}"}', names)
    assert calls[0]["args"] == {"expression": "1+1"}  # arguments as a JSON string, OpenAI-style
