"""Imports run down the package's layers, never up (README, Development): a short AST scan of
`agent_service/`."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "agent_service"

# Top to bottom; a module may import from its own layer and those below it.
LAYERS = [
    {"api", "web", "server", "cli", "kb_cli", "kb_remote", "mcp.server", "db.migrations"},  # entry points
    {"services"},  # builds everything the entry points use
    {"runs"},
    {"agents", "model_input", "knowledge", "protocols", "memory", "prompts"},
    {"llm", "tools", "mcp", "db", "batching", "long_lived", "metrics"},
    {"streaming", "config", "errors"},
]


def layer_of(module: str) -> int:
    parts = module.split(".")[1:]
    for depth in (2, 1):
        name = ".".join(parts[:depth])
        for index, names in enumerate(LAYERS):
            if name in names:
                return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("agent_service.")}


def upward_imports() -> set[tuple[str, str]]:
    arrows = set()
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        if module == "agent_service":
            continue
        arrows |= {(module, imported) for imported in imports(path) if layer_of(imported) < layer_of(module)}
    return arrows


def test_no_import_runs_up_the_layers():
    arrows = upward_imports()

    assert not arrows, "imports that run up the layers:\n" + "\n".join(
        f"{importer} -> {imported}" for importer, imported in sorted(arrows)
    )


def test_the_scan_sees_an_upward_import(tmp_path: Path):
    module = tmp_path / "upward.py"
    module.write_text("from agent_service.api.app import create_app\nimport agent_service.runs.live\n")

    found = imports(module)

    assert found == {"agent_service.api.app", "agent_service.runs.live"}
    assert layer_of("agent_service.api.app") < layer_of("agent_service.db.crud")
