"""Prompt templates as files: `<prompts_dir>/<kind>/<name>.jinja2`.

A template renders the user's turn from `input` (and, for knowledge-base
chat, `context`). A template that names `history` gets the conversation
written out as text; otherwise the history goes to the model as messages.
A template is read again when its file changes, so edits apply without a
restart.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment
from langchain_core.prompts import StringPromptTemplate
from langchain_core.prompts.string import get_template_variables
from pydantic import PrivateAttr

from agent_service.errors import UnknownPromptError
from agent_service.knowledge.errors import InvalidNameError
from agent_service.knowledge.names import validate_path_component

SUFFIX = ".jinja2"
_JINJA = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False)


class JinjaPromptTemplate(StringPromptTemplate):
    """A Jinja2 prompt compiled once (LangChain's own jinja2 format compiles
    the template again on every call, which an agent does at every step)."""

    template: str
    _compiled: Template = PrivateAttr()

    @classmethod
    def from_text(cls, template: str) -> JinjaPromptTemplate:
        return cls(template=template, input_variables=get_template_variables(template, "jinja2"))

    def model_post_init(self, context: Any) -> None:
        self._compiled = _JINJA.from_string(self.template)

    def format(self, **kwargs: Any) -> str:
        partials = {name: value() if callable(value) else value for name, value in self.partial_variables.items()}
        return self._compiled.render(**{**partials, **kwargs})

    @property
    def _prompt_type(self) -> str:
        return "jinja2-file"


class PromptStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, tuple[tuple[int, int], JinjaPromptTemplate]] = {}
        self._lock = threading.Lock()

    def names(self, kind: str) -> list[str]:
        """The templates of one chat kind that `get` accepts (the schema lists them)."""
        found = (path.name.removesuffix(SUFFIX) for path in (self.root / kind).glob(f"*{SUFFIX}"))
        return sorted(name for name in found if _usable(name))

    def get(self, kind: str, name: str) -> JinjaPromptTemplate:
        # The name comes from a request: it must be a plain file name.
        validate_path_component(name, "prompt")
        if name.startswith("."):
            raise self._unknown(kind, name)
        path = self.root / kind / f"{name}{SUFFIX}"
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise self._unknown(kind, name) from None
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._cache.get(path)
            if cached is None or cached[0] != version:
                template = JinjaPromptTemplate.from_text(path.read_text("utf-8"))
                cached = self._cache[path] = (version, template)
        return cached[1]

    def _unknown(self, kind: str, name: str) -> UnknownPromptError:
        available = ", ".join(self.names(kind)) or "none"
        return UnknownPromptError(f"unknown prompt_name {name!r} for {kind}; available: {available}")


def _usable(name: str) -> bool:
    """Whether `get` takes this file name: hidden files (a leading dot) and unsafe names are not templates."""
    try:
        validate_path_component(name, "prompt")
    except InvalidNameError:
        return False
    return not name.startswith(".")
