"""A forgiving parser for ReAct-style model output.

Models prompted with the Thought / Action / Action Input / Observation /
Final Answer format rarely follow it to the letter, small local models least
of all. This parser accepts what they actually write: any case, full-width
colons, markdown bold and code fences, JSON blobs instead of labelled lines,
single-quoted or truncated JSON, tool names in brackets or backticks, and a
run-on reply that invents its own ``Observation:`` and answer.

Decisions worth knowing:

* Whichever comes first wins: an action (``Action:`` line or JSON action
  blob) or ``Final Answer:``. A final answer written *after* an action was
  produced without seeing the tool result, so it is a guess: the action is
  taken and everything from the first label after the action's input (a
  hallucinated ``Observation:``, a second ``Action:``, the ``Final Answer:``)
  is dropped, also from the log the executor replays to the model.
* A tool name that differs from a registered one only in case, spaces,
  hyphens or underscores (``Unit Converter`` for ``unit_converter``) is
  read as that tool. Other unknown names are returned as written;
  ``AgentExecutor`` answers them with an ``InvalidTool`` observation listing
  the valid tools, which is the most useful feedback the model can get.
* A reply with no action at all is a final answer (the whole text).
* A reply that starts an action but names no tool raises
  ``OutputParserException(send_to_llm=True)`` with a corrective observation,
  so the executor should run with ``handle_parsing_errors=True``.
* A missing or empty ``Action Input`` becomes ``""``: BaseTool accepts that
  both for single-string tools and for tools without arguments.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from langchain_classic.agents import AgentOutputParser
from langchain_core.agents import AgentAction, AgentFinish
from langchain_core.exceptions import OutputParserException
from pydantic import Field

from agent_service.agents.call_syntax import call_arguments, find_call

# The executor should stop generation here, so the model cannot invent tool
# results. Kept to two entries: OpenAI-compatible servers accept at most four.
REACT_STOP_SEQUENCES: list[str] = ["\nObservation:", "\nObservation："]

# Label name -> pattern. Longer labels come first so "Action Input" is never
# read as "Action". Chinese labels cover bilingual prompts.
_LABEL_PATTERNS: dict[str, str] = {
    "final_answer": r"final[ \t_]*answer|最终答案|最终回答",
    "action_input": r"action[ \t_]*(?:\d+[ \t_]*)?input|行动输入|动作输入",
    "action": r"action|行动|动作",
    "observation": r"observation|观察结果|观察",
    "thought": r"thought|思考|想法",
}
_LABEL_ALTERNATION = "|".join(f"(?P<{name}>{pattern})" for name, pattern in _LABEL_PATTERNS.items())
# Optional "Action 1" numbering, markdown bold around the label, ASCII or full-width colon.
# No two runs of blanks may meet (each optional part starts with a character of its own):
# where they can, a line of spaces costs the regex engine cubic time to give up on.
_LABEL_TAIL = r"[ \t]*(?:\d+[ \t]*)?(?:(?:\*\*|__)[ \t]*)?[:：][ \t]*(?:\*\*|__)?"
# Strict: a label starts a line (after optional bullets, quote marks, headings or bold).
_STRICT_LABEL_RE = re.compile(
    rf"^[ \t]*(?:[-*>#]+[ \t]*)?(?:(?:\*\*|__)[ \t]*)?(?:{_LABEL_ALTERNATION}){_LABEL_TAIL}",
    re.IGNORECASE | re.MULTILINE,
)
# Loose: a label anywhere after whitespace or sentence punctuation, for run-on
# one-line replies ("I should add. Action: calculator Action Input: 2+2").
_LOOSE_LABEL_RE = re.compile(
    rf"(?:^|(?<=[\s.。!?！？,，;；]))(?:\*\*|__)?(?:{_LABEL_ALTERNATION}){_LABEL_TAIL}",
    re.IGNORECASE,
)

# The longest a final-answer label runs as it streams ("**Final Answer 1:** "), for a
# reader that holds back text that may be the start of one.
LONGEST_LABEL = 24


def final_answer_end(text: str) -> int | None:
    """Where the answer starts after the first final-answer label the parser reads as one
    (`Final Answer:`, `最终答案：`, bold, numbered), or None when there is none yet."""
    for label in (_STRICT_LABEL_RE, _LOOSE_LABEL_RE):
        for match in label.finditer(text):
            if match.group("final_answer"):
                return match.end()
    return None


# Bounds on the forgiving JSON reading: blobs tried per reply, and the length of text
# read as Python literals or closed after a cut (valid JSON of any length is read).
MAX_BLOB_CANDIDATES = 8
MAX_LOOSE_JSON = 8_000

# A fenced code block; an unclosed fence (cut off by a stop sequence or the
# token limit) runs to the end of the text.
_FENCE_RE = re.compile(r"```[ \t]*(?:[\w+-]+[ \t]*)?\n?(.*?)(?:```|\Z)", re.DOTALL)
# The original ReAct paper writes the input in brackets: "Search[Apple Remote]".
_BRACKET_CALL_RE = re.compile(r"^([\w.\-]+)\s*\[(.*)\]$", re.DOTALL)
# An action written as a Python call: "Action: calculator(expression="2+2")".
_PYTHON_CALL_RE = re.compile(r"^([A-Za-z_]\w*)\s*\(.*\)$", re.DOTALL)

# Keys JSON action blobs use for the tool name and its input, across the
# LangChain JSON agent, OpenAI function calling and ChatGLM3 conventions.
_NAME_KEYS = ("action", "name", "tool", "tool_name")
_INPUT_KEYS = ("action_input", "arguments", "parameters", "args", "tool_input", "input")
# Tool names that mean "no tool": the model is answering (compared by `_name_key`).
_FINISH_NAMES = {"finalanswer", "finish", "最终答案"}
_NO_TOOL_NAMES = {"", "none", "null", "n/a", "na", "no action", "nothing", "无"}
# Characters wrapped around tool names: quotes, backticks, brackets, bold, punctuation.
_NAME_WRAPPERS = "`'\"“”‘’[]()<>{}*.,:;。：，； \t"


@dataclass(frozen=True)
class _Label:
    kind: str
    start: int  # where the label itself starts
    end: int  # where its value starts


@dataclass(frozen=True)
class _JsonAction:
    start: int
    end: int
    name: str
    tool_input: str | dict[str, Any]


class ReActOutputParser(AgentOutputParser):
    """Parse ReAct text into an ``AgentAction`` or ``AgentFinish``.

    Use with ``AgentExecutor(..., handle_parsing_errors=True)`` and bind the
    model with ``stop=REACT_STOP_SEQUENCES``.
    """

    tool_names: list[str] = Field(default_factory=list, description="The registered tools, to match loose names.")

    def parse(self, text: str) -> AgentAction | AgentFinish:
        labels = _find_labels(text)
        final = _first(labels, "final_answer")
        action_label = _first(labels, "action")
        blob = find_json_action(text)

        # The action starts at the earlier of an "Action:" label and a JSON blob.
        action_start: int | None = None
        if action_label is not None:
            action_start = action_label.start
        if blob is not None and (action_start is None or blob.start < action_start):
            action_start, action_label = blob.start, None

        if final is not None and (action_start is None or final.start < action_start):
            return AgentFinish({"output": text[final.end :].strip()}, text)

        if action_label is not None:
            name, tool_input, cut = _read_labelled_action(text, action_label, labels)
        elif blob is not None:
            name, tool_input = blob.name, blob.tool_input
            cut = _next_label_start(labels, blob.end, len(text))
        else:
            if _first(labels, "action_input") is not None:
                raise _format_error(text, "Invalid Format: Missing 'Action:' before 'Action Input:'.")
            return AgentFinish({"output": _strip_leading_thought(text)}, text)

        if is_final_answer(name):
            return final_answer(tool_input, text)
        if name.lower() in _NO_TOOL_NAMES:
            if final is not None:  # "Action: None ... Final Answer: ..."
                return AgentFinish({"output": text[final.end :].strip()}, text)
            raise _format_error(
                text,
                "Invalid Format: 'Action:' must name one of the tools. "
                "If no tool is needed, write 'Final Answer:' followed by the answer.",
            )
        return AgentAction(registered_name(name, self.tool_names), tool_input, text[:cut].rstrip())

    @property
    def _type(self) -> str:
        return "react-forgiving"


def _name_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).casefold()


def registered_name(name: str, tool_names: list[str]) -> str:
    """The registered tool `name` means when it differs only in case, spaces, hyphens or
    underscores (``Unit-Converter`` -> ``unit_converter``); otherwise `name` as written."""
    if name in tool_names:
        return name
    matches = [tool for tool in tool_names if _name_key(tool) == _name_key(name)]
    return matches[0] if len(matches) == 1 else name


def is_final_answer(name: str) -> bool:
    """Whether an action's name means "no tool, this is the answer" (``Final Answer``, ``final_answer``)."""
    return _name_key(name) in _FINISH_NAMES


def final_answer(tool_input: str | dict[str, Any], log: str) -> AgentFinish:
    """{"action": "Final Answer", "action_input": "..."}: the JSON agent's way to finish."""
    output = tool_input if isinstance(tool_input, str) else json.dumps(tool_input, ensure_ascii=False)
    return AgentFinish({"output": output}, log)


def parse_tool_input(raw: str) -> str | dict[str, Any]:
    """Turn the text of an ``Action Input`` into what the tool is called with.

    JSON objects (also single-quoted, Python-literal or truncated ones) become
    dicts; anything else is a string with surrounding fences, quotes and
    whitespace removed. "None"/"null"/"N/A" mean no input and become "".
    """
    text = _strip_fences(raw).strip()
    if not text:
        return ""
    if text.startswith("{"):
        parsed = parse_json_object(text)
        if parsed is not None:
            return parsed
        return text
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            decoded = json.loads(text)  # a JSON string literal: honour its escapes
        except json.JSONDecodeError:
            decoded = None
        if isinstance(decoded, str):
            return decoded
    text = _strip_quotes(text)
    if text.lower() in {"none", "null", "n/a"}:
        return ""
    return text


def parse_json_object(text: str) -> dict[str, Any] | None:
    """Best-effort parse of the first JSON object in ``text``; None if hopeless.

    Tries strict JSON, then Python literals via ``ast.literal_eval`` (models
    often write single quotes or True/None; literal_eval never executes code),
    then the same again after closing a truncated string, list or object.
    """
    start = text.find("{")
    if start < 0:
        return None
    text = text[start:].strip()
    for candidate in (text, close_truncated(text)):
        try:
            # raw_decode tolerates trailing prose after the object.
            value, _ = json.JSONDecoder().raw_decode(candidate)
        except json.JSONDecodeError:
            if len(candidate) > MAX_LOOSE_JSON:  # the forgiving paths are for a tool call's few lines
                return None
            try:
                value = ast.literal_eval(candidate)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
        if isinstance(value, dict):
            return value
    return None


def action_from_dict(data: dict[str, Any]) -> tuple[str, str | dict[str, Any]] | None:
    """Read ``(tool_name, tool_input)`` from a JSON action blob, or None.

    Accepts ``{"action", "action_input"}``, ``{"name", "arguments"|"parameters"}``,
    ``{"tool", "tool_input"}`` and OpenAI's ``{"function": {"name", "arguments"}}``.
    A blob with a ``name`` key but no input key is not treated as an action:
    that is more likely an answer the user asked for (``{"name": "Alice"}``).
    """
    if isinstance(data.get("function"), dict):
        return action_from_dict(data["function"])
    name_key = next((key for key in _NAME_KEYS if isinstance(data.get(key), str)), None)
    input_key = next((key for key in _INPUT_KEYS if key in data), None)
    if name_key is None or (input_key is None and name_key != "action"):
        return None
    raw_input = data.get(input_key) if input_key else None
    tool_input: str | dict[str, Any]
    if raw_input is None:
        tool_input = ""
    elif isinstance(raw_input, dict):
        tool_input = raw_input
    elif isinstance(raw_input, str):
        # OpenAI-style "arguments" is a JSON-encoded string.
        tool_input = parse_tool_input(raw_input)
    else:
        tool_input = json.dumps(raw_input, ensure_ascii=False)
    return clean_tool_name(data[name_key]), tool_input


def clean_tool_name(raw: str) -> str:
    """``[calculator]``, ```` `calculator` ````, ``"calculator"``, ``**calculator**`` -> ``calculator``."""
    lines = raw.strip().splitlines()
    return lines[0].strip(_NAME_WRAPPERS) if lines else ""


def _find_labels(text: str) -> list[_Label]:
    labels = _labels_from(_STRICT_LABEL_RE, text)
    kinds = {label.kind for label in labels}
    if "action" in kinds or "final_answer" in kinds:
        return labels
    # Fall back to labels inside lines, but only on strong evidence: a final
    # answer, or an action together with its input. "take this action: ..."
    # in ordinary prose should stay prose.
    loose = _labels_from(_LOOSE_LABEL_RE, text)
    loose_kinds = {label.kind for label in loose}
    if "final_answer" in loose_kinds or {"action", "action_input"} <= loose_kinds:
        return loose
    return labels


def _labels_from(pattern: re.Pattern[str], text: str) -> list[_Label]:
    return [_Label(match.lastgroup or "", match.start(), match.end()) for match in pattern.finditer(text)]


def _first(labels: list[_Label], kind: str) -> _Label | None:
    return next((label for label in labels if label.kind == kind), None)


def _next_label_start(labels: list[_Label], after: int, default: int) -> int:
    return next((label.start for label in labels if label.start >= after), default)


def _read_labelled_action(text: str, action: _Label, labels: list[_Label]) -> tuple[str, str | dict[str, Any], int]:
    """Read the tool name and input after an ``Action:`` label.

    Returns the name, the input and where the action ends (the first label
    after its input), which is where the log is cut.
    """
    following = [label for label in labels if label.start >= action.end]
    value_end = following[0].start if following else len(text)
    value = text[action.end : value_end]
    raw_input: str | None = None
    cut = value_end
    if following and following[0].kind == "action_input":
        input_label = following[0]
        cut = following[1].start if len(following) > 1 else len(text)
        raw_input = text[input_label.end : cut]

    # "Action:" followed by a JSON blob (LangChain's structured chat format).
    blob = find_json_action(value)
    if blob is not None:
        if raw_input is not None and blob.tool_input == "":
            return blob.name, parse_tool_input(raw_input), cut
        return blob.name, blob.tool_input, cut

    first_line, _, rest = value.strip().partition("\n")
    first_line = first_line.strip().strip("`*")
    if raw_input is None:
        bracket = _BRACKET_CALL_RE.match(first_line)
        if bracket:  # Search[Apple Remote]
            return bracket.group(1), parse_tool_input(bracket.group(2)), cut
        called = _PYTHON_CALL_RE.match(first_line)
        if called and (found := find_call(first_line, called.group(1))) is not None:  # calculator(expression="2+2")
            return called.group(1), call_arguments(*found), cut
        # No "Action Input:" label: a JSON object or code block under the name
        # is its input; prose there is the model talking, not an argument.
        rest = rest.strip()
        raw_input = rest if rest.startswith(("{", "```")) else ""
    return clean_tool_name(first_line), parse_tool_input(raw_input), cut


def find_json_action(text: str) -> _JsonAction | None:
    """Find the first JSON action blob: fenced, or a ``{`` that starts a line.

    At most MAX_BLOB_CANDIDATES of each are tried: each try may read to the end of
    the text, and a reply of thousands of lines starting with ``{`` is not an action."""
    found: list[_JsonAction] = []
    for match in itertools.islice(_FENCE_RE.finditer(text), MAX_BLOB_CANDIDATES):
        body = match.group(1).strip()
        if body.startswith("{"):
            blob = _json_action_at(body, match.start(), match.end())
            if blob is not None:
                found.append(blob)
                break
    for match in itertools.islice(re.finditer(r"^[ \t]*\{", text, re.MULTILINE), MAX_BLOB_CANDIDATES):
        if found and match.start() > found[0].start:
            break
        start = match.end() - 1
        end = _json_end(text, start)
        blob = _json_action_at(text[start:end], match.start(), end)
        if blob is not None:
            found.append(blob)
            break
    return min(found, key=lambda blob: blob.start) if found else None


def _json_action_at(body: str, start: int, end: int) -> _JsonAction | None:
    data = parse_json_object(body)
    if data is None:
        return None
    action = action_from_dict(data)
    if action is None:
        return None
    return _JsonAction(start, end, action[0], action[1])


def _json_end(text: str, start: int) -> int:
    """Index just past the JSON value at ``start``, or the end of the text."""
    try:
        _, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return len(text)
    return end


_CLOSERS = {"{": "}", "[": "]", "(": ")"}


def close_truncated(text: str) -> str:
    """Close an unterminated string and any open brackets, drop a dangling comma.

    Models cut off by the token limit (or by a stop sequence) leave JSON like
    ``{"expression": "2+2`` (or a call like ``tool_call(x='2+2``) behind;
    closing it usually recovers the intent.
    """
    text = text.rstrip().removesuffix("```").rstrip()
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in _CLOSERS:
            stack.append(_CLOSERS[char])
        elif stack and char == stack[-1]:
            stack.pop()
    if quote:
        text += quote
    else:
        text = text.rstrip(", \t\n")
        if text.endswith(":"):  # a key whose value never came
            text += " null"
    return text + "".join(reversed(stack))


def _strip_fences(text: str) -> str:
    """Remove a surrounding (possibly unclosed) markdown code fence."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = re.sub(r"^```[ \t]*(?:[\w+-]+[ \t]*)?\n?", "", stripped)
    if stripped.endswith("```"):
        stripped = stripped[:-3]
    return stripped.strip()


def _strip_quotes(text: str) -> str:
    pairs = {'"': '"', "'": "'", "`": "`", "“": "”", "‘": "’"}
    while len(text) >= 2 and pairs.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def _strip_leading_thought(text: str) -> str:
    """The answer from a reply without an action.

    A leading "Thought:" line followed by more text is reasoning and is
    dropped; a lone "Thought: ..." line is the answer, minus its label.
    """
    text = text.strip()
    match = _STRICT_LABEL_RE.match(text)
    if not match or match.lastgroup != "thought":
        return text
    first_line, _, rest = text[match.end() :].partition("\n")
    return rest.strip() if rest.strip() else first_line.strip()


def _format_error(text: str, observation: str) -> OutputParserException:
    return OutputParserException(
        f"Could not parse agent output: {text!r}",
        observation=observation,
        llm_output=text,
        send_to_llm=True,
    )
