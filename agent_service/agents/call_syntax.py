"""A tool call written as a Python call (`calculator(expression="2+2")`, ChatGLM3's
`tool_call(...)`), read with `ast` and never executed: keyword arguments become a dict, one
positional argument is the whole input, and a value that is not a literal is kept as its text."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from typing import Any

MAX_CALL_CHARS = 8_000  # a longer "call" is not one a model meant: not parsed
# JSON spellings a model may use inside a call, read as Python names.
_JSON_CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None}


def find_call(code: str, name: str, repair: Callable[[str], str] | None = None) -> tuple[ast.Call, str] | None:
    """The first call of `name` in `code` and the source it was parsed from, trying the text as
    written, cut at its last ")" (prose after the call), and `repair`ed (closed after a cut)."""
    start = re.search(rf"\b{re.escape(name)}\s*\(", code)
    if start is None:
        return None
    snippet = code[start.start() :]
    fence = snippet.find("```")
    if fence >= 0:
        snippet = snippet[:fence]
    snippet = snippet.strip()[:MAX_CALL_CHARS]
    candidates = [snippet, snippet[: snippet.rfind(")") + 1], *([repair(snippet)] if repair else [])]
    for candidate in candidates:
        try:
            tree = ast.parse(candidate)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
                return node, candidate
    return None


def call_arguments(call: ast.Call, source: str) -> str | dict[str, Any]:
    """Keyword arguments as a dict; a single positional argument (or none) as the whole input."""
    if call.args and not call.keywords:
        value = _literal(call.args[0], source)
        return value if isinstance(value, dict | str) else json.dumps(value, ensure_ascii=False)
    return {kw.arg: _literal(kw.value, source) for kw in call.keywords if kw.arg is not None}


def _literal(node: ast.expr, source: str) -> Any:
    """A value as a Python value; JSON constants allowed; else its source text."""
    if isinstance(node, ast.Name) and node.id in _JSON_CONSTANTS:
        return _JSON_CONSTANTS[node.id]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        segment = ast.get_source_segment(source, node)
        return segment if segment is not None else ast.unparse(node)
