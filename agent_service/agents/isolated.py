"""CPU-bound tools run outside the service's process, so a runaway call costs its caller only.

A tool module that says `isolated = True` has its tools called in a worker
process (`tool_worker`) with a memory limit and a CPU-time limit per call; a
call that outlives its timeout has the worker killed (the next call starts
another). The service's own process never runs such a tool's code: its event
loop and the GIL stay free for everyone else.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, ToolException

WORKER_COMMAND = [sys.executable, "-m", "agent_service.agents.tool_worker"]


class ToolWorker:
    """One worker process, started on first use, calls one at a time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def call(self, module_file: str, tool: str, tool_input: Any, timeout: float) -> Any:
        request = {"module": module_file, "tool": tool, "input": tool_input, "seconds": max(1, int(timeout))}
        with self._lock:
            process = self._started()
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
                ready, _, _ = select.select([process.stdout], [], [], timeout)
                line = process.stdout.readline() if ready else None
            except (BrokenPipeError, OSError):
                line = ""
            if not line:
                self._stop()
                if line is None:
                    raise ToolException(f"{tool} was stopped after {timeout:g} s")
                raise ToolException(f"{tool} was stopped: it ran out of CPU time or memory")
        answer = json.loads(line)
        if "ok" in answer:
            return answer["ok"]
        if "tool_error" in answer:
            raise ToolException(answer["tool_error"])
        raise RuntimeError(answer["error"])

    def start_soon(self) -> None:
        """Start the worker in the background (its imports take a second), so no call waits for it."""
        threading.Thread(target=self._start_locked, name="tool-worker", daemon=True).start()

    def _start_locked(self) -> None:
        with self._lock:
            self._started()

    def _started(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                WORKER_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
            )
        return self._process

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()


WORKER = ToolWorker()  # one per service process, shared by every registry it loads


class IsolatedTool(BaseTool):
    """`inner`'s name, description and arguments; each call runs in the worker process."""

    module_file: str
    timeout: float = 30.0

    @classmethod
    def of(cls, tool: BaseTool, module_file: Path, timeout: float) -> IsolatedTool:
        return cls(
            name=tool.name,
            description=tool.description,
            args_schema=tool.args_schema,
            module_file=str(module_file),
            timeout=timeout,
            metadata=tool.metadata,
        )

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("run_manager", None)
        tool_input = args[0] if args and not kwargs else kwargs
        return WORKER.call(self.module_file, self.name, tool_input, self.timeout)
