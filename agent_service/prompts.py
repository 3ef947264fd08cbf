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

from langchain_core.prompts import PromptTemplate

from agent_service.errors import UnknownPromptError

SUFFIX = ".jinja2"


class PromptStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, tuple[tuple[int, int], PromptTemplate]] = {}
        self._lock = threading.Lock()

    def names(self, kind: str) -> list[str]:
        return sorted(path.name.removesuffix(SUFFIX) for path in (self.root / kind).glob(f"*{SUFFIX}"))

    def get(self, kind: str, name: str) -> PromptTemplate:
        path = self.root / kind / f"{name}{SUFFIX}"
        # The name comes from a request: it must be a plain file name.
        if not name or Path(name).name != name or name.startswith("."):
            raise self._unknown(kind, name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise self._unknown(kind, name) from None
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._cache.get(path)
            if cached is None or cached[0] != version:
                template = PromptTemplate.from_template(path.read_text("utf-8"), template_format="jinja2")
                cached = self._cache[path] = (version, template)
        return cached[1]

    def _unknown(self, kind: str, name: str) -> UnknownPromptError:
        available = ", ".join(self.names(kind)) or "none"
        return UnknownPromptError(f"unknown prompt_name {name!r} for {kind}; available: {available}")
