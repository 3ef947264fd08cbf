"""The agent's streamed text marked as reasoning or answer, token by token, as its parser reads it."""

from __future__ import annotations

import pytest

from agent_service.agents.answer_marks import AnswerMarks


def run(marks: AnswerMarks, steps: list[list[str]], final: str) -> tuple[str, str]:
    sent: list[tuple[str, str]] = []
    for number, tokens in enumerate(steps, start=1):
        for token in tokens:
            sent += marks.feed(token, number)
        sent += marks.flush()
    sent += marks.finish(final)
    return (
        "".join(text for field, text in sent if field == "reasoning"),
        "".join(text for field, text in sent if field == "answer"),
    )


@pytest.mark.parametrize(
    "tokens",
    [
        ["Thought: done\nFinal Answer: It is 4."],
        ["Thought: done\nFinal", " Answer", ":", " It", " is", " 4."],
        ["Thought: done\nFin", "al Ans", "wer: It is 4."],
        list("Thought: done\nFinal Answer: It is 4."),
    ],
)
def test_react_answer_after_the_marker_however_it_is_split(tokens):
    reasoning, answer = run(AnswerMarks("react"), [['Action: calculator\nAction Input: "2+2"'], tokens], "It is 4.")

    assert answer == "It is 4."
    assert reasoning == 'Action: calculator\nAction Input: "2+2"Thought: done\nFinal Answer:'


def test_an_answer_the_parser_found_without_the_marker_is_sent_at_the_end():
    reasoning, answer = run(AnswerMarks("react"), [["It is just 4."]], "It is just 4.")

    assert (reasoning, answer) == ("It is just 4.", "It is just 4.")


def test_native_tool_calling_text_is_the_answer_and_glm3_answers_at_the_end():
    assert run(AnswerMarks("tool_calling"), [["It ", "is 9."]], "It is 9.") == ("", "It is 9.")
    assert run(AnswerMarks("glm3"), [["calculator\n", "tool_call(x=1)"], ["9"]], "9") == (
        "calculator\ntool_call(x=1)9",
        "9",
    )


def test_an_answer_that_differs_from_what_streamed_is_appended():
    reasoning, answer = run(AnswerMarks("tool_calling"), [["Let me check."]], "Stopped: too many steps.")

    assert answer == "Let me check.\n\nStopped: too many steps."


@pytest.mark.parametrize(
    ("step", "reasoning_end", "answer"),
    [
        ("思考：算好了。\n最终答案：答案是 9。", "最终答案：", "答案是 9。"),
        ("Thought: done\n**Final Answer:** It is 9.", "**Final Answer:**", "It is 9."),
        ("Thought: done\nFinal answer： It is 9.", "Final answer：", "It is 9."),
    ],
)
def test_every_label_the_parser_reads_splits_the_answer_off(step, reasoning_end, answer):
    """Token by token, as a model streams it: the answer is what the parser would answer."""
    reasoning, sent = run(AnswerMarks("react"), [list(step)], answer)

    assert sent == answer
    assert reasoning.endswith(reasoning_end) and answer not in reasoning
