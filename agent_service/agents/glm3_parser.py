"""ChatGLM3's tool-calling format: output parser and system prompt.

ChatGLM3 calls a tool by writing the tool name as the message's metadata
line, then a code block with a ``tool_call(...)`` expression::

    <|assistant|>calculator
    ```python
    tool_call(expression="2+2")
    ```

Served through an OpenAI-compatible API the special tokens may or may not
survive, and some servers (and models) write the call as a JSON blob, often
in a code fence (``{"name": "calculator", "parameters": {...}}``, or the
ReAct style's ``{"action": ..., "action_input": ...}``; a blob whose action
is "Final Answer" is the answer), or call the tool by its own name in
Python syntax (``calculator(expression="2+2")``). All of these are parsed
here; anything else is the final answer. A tool name that differs from a registered one
only in case, spaces, hyphens or underscores is read as that tool. The ``tool_call`` arguments are read
with ``ast`` (parse, then ``literal_eval`` per keyword value): model output is
never executed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_classic.agents import AgentOutputParser
from langchain_core.agents import AgentAction, AgentFinish
from langchain_core.exceptions import OutputParserException
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from agent_service.agents.call_syntax import call_arguments, find_call
from agent_service.agents.react_parser import (
    clean_tool_name,
    close_truncated,
    final_answer,
    find_json_action,
    is_final_answer,
    registered_name,
)

# ChatGLM3 ends its turn by emitting the role token of whoever speaks next.
GLM3_STOP_SEQUENCES: list[str] = ["<|observation|>", "<|user|>"]

GLM3_SYSTEM_PREAMBLE = "Answer the following questions as best as you can. You have access to the following tools:"

_SPECIAL_TOKEN_RE = re.compile(r"<\|(?:assistant|observation|user|system|endoftext)\|>")
# Text after these tokens belongs to a turn the model should not have written.
_TURN_END_RE = re.compile(r"<\|(?:observation|user)\|>")
_TOOL_CALL_RE = re.compile(r"\btool_call\s*\(")
# A metadata line: a bare tool name, nothing else on the line.
_TOOL_NAME_RE = re.compile(r"^[`'\"\[]*[\w][\w.\-]*[`'\"\]]*$")


class GLM3OutputParser(AgentOutputParser):
    """Parse ChatGLM3 output into an ``AgentAction`` or ``AgentFinish``.

    Bind the model with ``stop=GLM3_STOP_SEQUENCES``. A ``tool_call`` with no
    tool name in front of it raises ``OutputParserException(send_to_llm=True)``,
    so the executor should run with ``handle_parsing_errors=True``.
    """

    tool_names: list[str] = Field(default_factory=list, description="The registered tools, to match loose names.")

    def parse(self, text: str) -> AgentAction | AgentFinish:
        cleaned = _clean(text)

        call = _TOOL_CALL_RE.search(cleaned)
        if call is not None:
            name = _tool_name_before(cleaned, call.start())
            if not name:
                raise OutputParserException(
                    f"tool_call without a tool name: {text!r}",
                    observation="Invalid format: write the tool name on the line before the tool_call block.",
                    llm_output=text,
                    send_to_llm=True,
                )
            tool_input = parse_tool_call(cleaned[call.start() :])
            return AgentAction(registered_name(name, self.tool_names), tool_input, cleaned)

        for tool in self.tool_names:  # the tool called by its own name: calculator(expression="2+2")
            if find_call(cleaned, tool) is not None:
                return AgentAction(tool, parse_tool_call(cleaned, tool), cleaned)

        blob = find_json_action(cleaned)
        if blob is not None:
            if is_final_answer(blob.name):
                return final_answer(blob.tool_input, text)
            return AgentAction(registered_name(blob.name, self.tool_names), blob.tool_input, cleaned)

        return AgentFinish({"output": cleaned}, text)

    @property
    def _type(self) -> str:
        return "chatglm3"


def parse_tool_call(code: str, name: str = "tool_call") -> str | dict[str, Any]:
    """Read the arguments of ``tool_call(a=1, b="x")`` (or of a call of `name`) without
    executing anything (`agents.call_syntax`). Code cut short by a stop sequence is closed
    before parsing."""
    found = find_call(code, name, repair=close_truncated)
    return {} if found is None else call_arguments(*found)


def glm3_system_prompt(tools: Sequence[BaseTool]) -> str:
    """Render tools the way ChatGLM3's chat template renders a system message with tools.

    The template appends ``json.dumps(tools, indent=4, ensure_ascii=False)``
    to the system text on a new line; each tool is ``{"name", "description",
    "parameters"}`` with ``parameters`` a JSON schema of its arguments.
    """
    specs = [
        {"name": tool.name, "description": tool.description, "parameters": _parameters_schema(tool)} for tool in tools
    ]
    return GLM3_SYSTEM_PREAMBLE + "\n" + json.dumps(specs, ensure_ascii=False, indent=4)


def _clean(text: str) -> str:
    """Strip special tokens; drop anything after an end-of-turn token.

    Leading tokens are framing (``<|assistant|>`` before the metadata line, or
    a terminator echoed from the previous turn), so only an end-of-turn token
    after real content ends the reply. Tokens inside the text become line
    breaks, which keeps a tool name that followed ``<|assistant|>`` on a line
    of its own.
    """
    body = text.strip()
    while match := _SPECIAL_TOKEN_RE.match(body):
        body = body[match.end() :].lstrip()
    end = _TURN_END_RE.search(body)
    if end is not None:
        body = body[: end.start()]
    return _SPECIAL_TOKEN_RE.sub("\n", body).strip()


def _tool_name_before(text: str, call_start: int) -> str:
    """The tool name on the last non-empty line before the call, skipping its code fence."""
    head = text[:call_start]
    lines = [line.strip() for line in head.splitlines() if line.strip()]
    # The fence opener ("```python") sits between the name and the call.
    while lines and lines[-1].startswith("```"):
        lines.pop()
    if not lines:
        return ""
    candidate = lines[-1].split("```", 1)[0].strip()  # "calculator```python" on one line
    return clean_tool_name(candidate) if _TOOL_NAME_RE.match(candidate) else ""


def _parameters_schema(tool: BaseTool) -> dict[str, Any]:
    """The JSON schema of a tool's arguments, without pydantic's title noise."""
    schema: dict[str, Any]
    try:
        call_schema = tool.tool_call_schema
        if isinstance(call_schema, dict):
            schema = dict(call_schema)
        elif isinstance(call_schema, type) and issubclass(call_schema, BaseModel):
            schema = call_schema.model_json_schema()
        else:
            raise TypeError(f"unsupported schema type {type(call_schema)!r}")
    except Exception:  # an odd schema must not break the prompt
        schema = {"type": "object", "properties": dict(tool.args)}
    # The name and description are already in the tool entry.
    schema.pop("title", None)
    schema.pop("description", None)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        schema["properties"] = {name: _without_title(spec) for name, spec in properties.items()}
    return schema


def _without_title(spec: Any) -> Any:
    # pydantic titles each field after its own name ("expression" -> "Expression"): noise.
    if not isinstance(spec, dict):
        return spec
    return {key: value for key, value in spec.items() if key != "title"}
