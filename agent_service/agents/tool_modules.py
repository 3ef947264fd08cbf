"""Finding the tools a tool module defines: shared by the registry and the tool worker process.

A module registers its tools explicitly with a hook,

    def register(add, context):  # context: ToolContext
        add(SQLQueryTool(settings=context.settings))

or, without one, every `@tool` function, `BaseTool` instance and `BaseTool`
subclass (built with no arguments) it defines at module level is a tool.
Names starting with `_` are private.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from langchain_core.tools import BaseTool

from agent_service.config import Settings
from agent_service.db.engine import Database

MODULE_PREFIX = "agent_service_tools"


@dataclass(frozen=True)
class ToolContext:
    """What a module's `register` hook is given, so a tool never reaches for globals."""

    settings: Settings
    # The service's database; None in the tool worker process, where `isolated` modules run.
    database: Database | None = None


def import_by_path(path: Path, prefix: str = MODULE_PREFIX) -> ModuleType:
    """The Python documentation's recipe for importing a source file directly."""
    name = f"{prefix}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # lets pydantic resolve the module's type hints
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def tools_in(module: ModuleType, context: ToolContext) -> list[BaseTool]:
    """The tools the module registers with its `register` hook, or else the ones it defines."""
    hook: Callable[[Callable[[BaseTool], None], ToolContext], None] | None = getattr(module, "register", None)
    if callable(hook):
        registered: list[BaseTool] = []
        hook(registered.append, context)
        if not all(isinstance(tool, BaseTool) for tool in registered):
            raise TypeError("register(add, context) may add only LangChain tools (BaseTool)")
        return registered
    return defined_in(module)


def defined_in(module: ModuleType) -> list[BaseTool]:
    found: list[BaseTool] = []
    for attribute, value in vars(module).items():
        if attribute.startswith("_"):
            continue
        if isinstance(value, BaseTool):
            found.append(value)
        elif (
            inspect.isclass(value)
            and issubclass(value, BaseTool)
            and value.__module__ == module.__name__  # not one imported from elsewhere
            and not inspect.isabstract(value)
        ):
            found.append(value())
    return found
