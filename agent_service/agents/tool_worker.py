"""The process that runs CPU-bound tools (modules that say `isolated = True`).

It runs under a memory limit, and each call under a CPU-time limit; the
service kills it at a call's timeout and starts another for the next call
(`agent_service.agents.isolated`). Protocol, one JSON object per line: in,
`{"module": path, "version": mtime, "settings": the service's settings as JSON,
"tool": name, "input": ..., "seconds": n}`; out,
`{"ok": output}`, `{"tool_error": message}` or `{"error": message}`.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from functools import cache
from pathlib import Path
from typing import Any

MEMORY_BYTES = 512 * 1024 * 1024  # on top of what the process holds when it starts


def _virtual_memory() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


@cache
def _tool(module_file: str, version: int, settings: str, name: str) -> Any:
    """The module's tool, loaded once per version of its file and of the service's settings."""
    from agent_service.agents.tool_modules import ToolContext, import_by_path, tools_in
    from agent_service.config import Settings

    context = ToolContext(settings=Settings.model_validate_json(settings))
    module = import_by_path(Path(module_file), prefix=f"isolated_{version}")
    return next(tool for tool in tools_in(module, context) if tool.name == name)


def call(request: dict[str, Any]) -> dict[str, Any]:
    from langchain_core.tools import ToolException

    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(usage.ru_utime + usage.ru_stime) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (spent + int(request["seconds"]), resource.RLIM_INFINITY))
    try:
        tool = _tool(request["module"], request.get("version", 0), request.get("settings", "{}"), request["tool"])
        output = tool.invoke(request["input"])
        return {"ok": output if isinstance(output, str | int | float) else str(output)}
    except ToolException as exc:
        return {"tool_error": str(exc)}
    except MemoryError:
        return {"tool_error": "the call needs more memory than a tool call may use"}
    except Exception as exc:  # noqa: BLE001 - the tool's failure, reported to its caller
        return {"error": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    import langchain_core.tools  # noqa: F401 - loaded before the memory limit is measured

    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # a tool's prints go to stderr, not into the protocol
    limit = _virtual_memory() + MEMORY_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for line in sys.stdin:
        out.write(json.dumps(call(json.loads(line)), default=str) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
