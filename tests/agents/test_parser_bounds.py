"""A model reply can hold anything (a document it read, a loop): the parsers read any
reply in time that grows with its length, not with its square or cube. Each reply
here took seconds to minutes before; the parse runs in a process of its own with a
timeout, so a regression fails the test instead of stalling the suite."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

REPLIES = {
    "a label then a long run of blanks": "Action" + " " * 20_000 + "x",
    "a label and its input split by blanks": "Action" + " " * 20_000 + "1" + " " * 20_000 + "Input: 2",
    "lines that each open an object": "\n{" * 40_000,
    "a line of spaces": " " * 80_000,
    "a fence then blanks": "```" + " " * 50_000 + "x",
    "many fences that open objects": "```\n{\n" * 10_000,
    "GLM3 calls that never close": "calculator\n" + "tool_call(x='" * 10_000,
}

PARSE_ALL = """
import json, sys
from agent_service.agents.glm3_parser import GLM3OutputParser
from agent_service.agents.react_parser import ReActOutputParser
from langchain_core.exceptions import OutputParserException
replies = json.loads(sys.stdin.read())
for parser in (ReActOutputParser(tool_names=["calculator"]), GLM3OutputParser(tool_names=["calculator"])):
    for name, text in replies.items():
        try:
            kind = type(parser.parse(text)).__name__
        except OutputParserException:
            kind = "corrective observation"
        print(type(parser).__name__, name, kind, sep=" | ")
"""


def test_adversarial_replies_are_parsed_in_linear_time():
    import json

    done = subprocess.run(
        [sys.executable, "-c", PARSE_ALL],
        input=json.dumps(REPLIES),
        capture_output=True,
        text=True,
        timeout=60,  # each case takes milliseconds; the worst of them took 95 s before
        cwd=REPO,
    )

    assert done.returncode == 0, done.stderr
    results = [line.split(" | ") for line in done.stdout.splitlines()]
    assert len(results) == 2 * len(REPLIES)
    assert {kind for _, _, kind in results} <= {"AgentFinish", "AgentAction", "corrective observation"}
    # Prose with a label in it is an answer; only the cut GLM3 call reads as a (cut) call.
    actions = [(parser, name) for parser, name, kind in results if kind == "AgentAction"]
    assert actions == [("GLM3OutputParser", "GLM3 calls that never close")]


def test_a_real_action_after_many_braces_is_still_found():
    from agent_service.agents.react_parser import ReActOutputParser

    text = 'Thought: use it\nAction: calculator\nAction Input: {"expression": "2+2"}' + "\n{" * 100

    action = ReActOutputParser(tool_names=["calculator"]).parse(text)

    assert action.tool == "calculator" and action.tool_input == {"expression": "2+2"}
