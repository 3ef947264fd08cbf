"""Finding the tools a tool module defines: shared by the registry and the tool worker process.

A tool is a `@tool` function, a `BaseTool` instance, or a `BaseTool`
subclass defined in that module (built with no arguments). Names starting
with `_` are private.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

from langchain_core.tools import BaseTool

MODULE_PREFIX = "agent_service_tools"


def import_by_path(path: Path, prefix: str = MODULE_PREFIX) -> ModuleType:
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


def tools_in(module: ModuleType) -> list[BaseTool]:
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
