"""Tools as Python modules: every `.py` file in the tools dir is imported by
path, and the tools it registers are the agents' to use.

A module registers its tools with a hook, `register(add, context)`, which
gets the service's settings and database in a `ToolContext`; a module with no
hook has every `@tool` function, `BaseTool` instance and `BaseTool` subclass
it defines at module level taken (`agents.tool_modules`). A module that fails to import is reported, not fatal;
two tools with one name are a start-up error. The tools of MCP servers
(`agent_service.mcp`) stand beside the modules' everywhere. A module that sets
`requires_approval = True` has every call of its tools wait for a person's
approval, as do the tools named in the setting `tools_requiring_approval`.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import anyio.to_thread
from langchain_core.tools import BaseTool
from pydantic import BaseModel

from agent_service.agents.isolated import WORKERS as TOOL_WORKERS
from agent_service.agents.isolated import IsolatedTool
from agent_service.agents.tool_modules import ToolContext, import_by_path, tools_in
from agent_service.errors import NotFoundError, ServiceError
from agent_service.mcp.tools import McpTools


class DuplicateToolError(ServiceError):
    status_code = 409


class UnknownToolError(ServiceError):
    pass


class ToolLoadError(BaseModel):
    module: str
    error: str


def _short_error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


ToolFactory = Callable[[], BaseTool]


def _returning(tool: BaseTool) -> ToolFactory:
    return lambda: tool


def _json_schema(tool: BaseTool) -> dict[str, Any]:
    schema = tool.tool_call_schema
    if isinstance(schema, dict):
        return schema
    return schema.model_json_schema() if issubclass(schema, BaseModel) else schema.schema()  # pydantic v1


def unavailable(tool: BaseTool) -> str | None:
    """Why a tool cannot work here (it says so in its `metadata`), or None when it can."""
    return (tool.metadata or {}).get("unavailable")


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
        context: ToolContext,
        builtins: Mapping[str, ToolFactory],
        approval_by_module: set[str],
        approval_by_setting: frozenset[str],
        mcp: McpTools | None = None,
        isolated_timeout: float = 30.0,
    ) -> None:
        self._tools = tools
        self.errors = errors
        self.tools_dir = tools_dir
        self.context = context
        self.builtins = builtins
        self.approval_by_module = approval_by_module
        self.approval_by_setting = approval_by_setting
        self.mcp = mcp
        self.isolated_timeout = isolated_timeout

    @classmethod
    def load(
        cls,
        tools_dir: Path,
        context: ToolContext,
        builtins: Mapping[str, ToolFactory] | None = None,
        requiring_approval: Iterable[str] = (),
        mcp: McpTools | None = None,
        isolated_timeout: float = 30.0,
    ) -> ToolRegistry:
        builtins = builtins or {}
        tools: dict[str, tuple[ToolFactory, str]] = {}
        errors: list[ToolLoadError] = []
        approval_by_module: set[str] = set()

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
                module = import_by_path(path)
                module_tools = tools_in(module, context)
            except Exception as exc:  # noqa: BLE001 - one broken module must not stop the service
                errors.append(ToolLoadError(module=path.name, error=_short_error(exc)))
                continue
            if getattr(module, "isolated", False) is True:  # CPU-bound: called in the tool worker process
                module_tools = [
                    IsolatedTool.of(tool, path, isolated_timeout, context.settings) for tool in module_tools
                ]
                TOOL_WORKERS.start_soon()
            for tool in module_tools:
                register(tool.name, _returning(tool), path.name)
            if getattr(module, "requires_approval", False) is True:
                approval_by_module.update(tool.name for tool in module_tools)
        return cls(
            tools,
            errors,
            tools_dir=tools_dir,
            context=context,
            builtins=builtins,
            approval_by_module=approval_by_module,
            approval_by_setting=frozenset(requiring_approval),
            mcp=mcp,
            isolated_timeout=isolated_timeout,
        )

    def reload(self) -> ToolRegistry:
        """The same folder and built-ins, read again."""
        return self.load(
            self.tools_dir, self.context, self.builtins, self.approval_by_setting, self.mcp, self.isolated_timeout
        )

    def _remote(self) -> dict[str, Any]:
        return {name: tool for name, (tool, _) in self.mcp.tools.items()} if self.mcp else {}

    def module_names(self) -> list[str]:
        """The names of the built-in and module tools (MCP tools take other names)."""
        return list(self._tools)

    def names(self) -> list[str]:
        return [*self._tools, *self._remote()]

    def needs_approval(self, name: str) -> bool:
        by_server = self.mcp is not None and self.mcp.needs_approval(name)
        return by_server or name in self.approval_by_module or name in self.approval_by_setting

    def problems(self) -> list[dict[str, Any]]:
        """Modules that failed to load, MCP servers that could not be reached, MCP tools renamed."""
        modules = [{**error.model_dump(), "source": "module"} for error in self.errors]
        return modules + (self.mcp.errors() if self.mcp else [])

    def get(self, name: str) -> BaseTool:
        if name in self._tools:
            return self._tools[name][0]()
        if remote := self._remote().get(name):
            return remote
        raise NotFoundError(f"unknown tool {name!r}; available: {', '.join(self.names()) or 'none'}")

    def select(self, names: list[str] | None) -> list[BaseTool]:
        """The tools an agent may use: all of them, or an allow-list (every name must exist)."""
        remote = self._remote()
        if names is None:  # all of them that can work
            tools = [factory() for factory, _ in self._tools.values()] + list(remote.values())
            return [tool for tool in tools if not unavailable(tool)]
        unknown = [name for name in names if name not in self._tools and name not in remote]
        if unknown:
            raise UnknownToolError(f"unknown tools {unknown}; available: {', '.join(self.names()) or 'none'}")
        return [self._tools[name][0]() if name in self._tools else remote[name] for name in dict.fromkeys(names)]

    async def aselect(self, names: list[str] | None) -> list[BaseTool]:
        """`select` in a worker thread, for code on the event loop: a built-in's factory
        may read the database (the knowledge tool lists the bases in its description)."""
        return await anyio.to_thread.run_sync(self.select, names)

    async def aget(self, name: str) -> BaseTool:
        """`get` in a worker thread, like `aselect`."""
        return await anyio.to_thread.run_sync(self.get, name)

    def describe(self) -> list[dict[str, Any]]:
        """Every tool: name, description, argument schema, where it comes from, whether it needs approval."""
        found = [(name, factory(), module) for name, (factory, module) in self._tools.items()]
        found += [(name, tool, self.mcp.source(name)) for name, tool in self._remote().items() if self.mcp]
        return [
            {
                "name": name,
                "description": inspect.cleandoc(tool.description),
                "args_schema": _json_schema(tool),
                "module": module,
                "source": module if module.startswith("mcp:") else "builtin" if module == "agent_service" else "module",
                "requires_approval": self.needs_approval(name),
                "available": not unavailable(tool),
                "unavailable_reason": unavailable(tool),
            }
            for name, tool, module in found
        ]
