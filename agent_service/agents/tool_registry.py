"""Tools as Python modules: every `.py` file in the tools dir is imported by
path, and every LangChain tool it defines at module level is registered.

A tool is a `@tool` function, a `BaseTool` instance, or a `BaseTool`
subclass defined in that module (built with no arguments). Names starting
with `_` are private. A module that fails to import is reported, not fatal;
two tools with one name are a start-up error.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio.to_thread
from langchain_core.tools import BaseTool
from pydantic import BaseModel

from agent_service.errors import NotFoundError, ServiceError

MODULE_PREFIX = "agent_service_tools"


class DuplicateToolError(ServiceError):
    status_code = 409


class UnknownToolError(ServiceError):
    pass


class ToolLoadError(BaseModel):
    module: str
    error: str


def _import_by_path(path: Path) -> ModuleType:
    name = f"{MODULE_PREFIX}.{path.stem}"
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


def _tools_in(module: ModuleType) -> list[BaseTool]:
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


def _short_error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


ToolFactory = Callable[[], BaseTool]


class ToolRegistry:
    """The tools found in one folder, by name, plus the modules that failed.

    Built-in tools of the service come as factories, called each time the tool
    is used, so a description that lists live data (the knowledge bases) is current.
    """

    def __init__(
        self,
        tools: dict[str, tuple[ToolFactory, str]],
        errors: list[ToolLoadError],
        *,
        tools_dir: Path,
        builtins: Mapping[str, ToolFactory],
    ) -> None:
        self._tools = tools
        self.errors = errors
        self.tools_dir = tools_dir
        self.builtins = builtins

    @classmethod
    def load(cls, tools_dir: Path, builtins: Mapping[str, ToolFactory] | None = None) -> ToolRegistry:
        builtins = builtins or {}
        tools: dict[str, tuple[ToolFactory, str]] = {}
        errors: list[ToolLoadError] = []

        def register(name: str, factory: ToolFactory, source: str) -> None:
            if name in tools:
                raise DuplicateToolError(
                    f"two tools are named {name!r}: in {tools[name][1]} and in {source}; rename one"
                )
            tools[name] = (factory, source)

        for name, factory in builtins.items():
            register(name, factory, "agent_service")
        paths = sorted(tools_dir.glob("*.py")) if tools_dir.is_dir() else []
        for path in paths:
            if path.name.startswith("_"):
                continue
            try:
                module_tools = _tools_in(_import_by_path(path))
            except Exception as exc:  # noqa: BLE001 - one broken module must not stop the service
                errors.append(ToolLoadError(module=path.name, error=_short_error(exc)))
                continue
            for tool in module_tools:
                register(tool.name, lambda tool=tool: tool, path.name)
        return cls(tools, errors, tools_dir=tools_dir, builtins=builtins)

    def reload(self) -> ToolRegistry:
        """The same folder and built-ins, read again."""
        return self.load(self.tools_dir, self.builtins)

    def names(self) -> list[str]:
        return list(self._tools)

    def get(self, name: str) -> BaseTool:
        try:
            return self._tools[name][0]()
        except KeyError:
            raise NotFoundError(f"unknown tool {name!r}; available: {', '.join(self._tools) or 'none'}") from None

    def select(self, names: list[str] | None) -> list[BaseTool]:
        """The tools an agent may use: all of them, or an allow-list (every name must exist)."""
        if names is None:
            return [factory() for factory, _ in self._tools.values()]
        unknown = [name for name in names if name not in self._tools]
        if unknown:
            raise UnknownToolError(f"unknown tools {unknown}; available: {', '.join(self._tools) or 'none'}")
        return [self._tools[name][0]() for name in dict.fromkeys(names)]

    async def aselect(self, names: list[str] | None) -> list[BaseTool]:
        """`select` in a worker thread, for code on the event loop: a built-in's factory
        may read the database (the knowledge tool lists the bases in its description)."""
        return await anyio.to_thread.run_sync(self.select, names)

    async def aget(self, name: str) -> BaseTool:
        """`get` in a worker thread, like `aselect`."""
        return await anyio.to_thread.run_sync(self.get, name)

    def describe(self) -> list[dict[str, Any]]:
        described = []
        for name, (factory, source) in self._tools.items():
            tool = factory()
            described.append(
                {
                    "name": name,
                    "description": inspect.cleandoc(tool.description),
                    "args_schema": tool.tool_call_schema.model_json_schema()
                    if isinstance(tool.tool_call_schema, type)
                    else tool.tool_call_schema,
                    "module": source,
                }
            )
        return described
