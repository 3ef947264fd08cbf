"""CPU-bound tools run outside the service's process, so a runaway call costs its caller only.

A tool module that says `isolated = True` has its tools called in a worker
process (`tool_worker`) with a memory limit and a CPU-time limit per call; a
call that outlives its timeout has the worker killed (the next call starts
another). Calls run side by side on a few workers, so one slow call does
not hold up the others. The service's own process never runs such a tool's code: its event
loop and the GIL stay free for everyone else.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, ToolException
from pydantic import Field

from agent_service.config import Settings

WORKER_COMMAND = [sys.executable, "-m", "agent_service.agents.tool_worker"]


class ToolWorker:
    """One worker process, started on first use, calls one at a time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def call(self, request: dict[str, Any], timeout: float) -> Any:
        tool = request["tool"]
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

    def start(self) -> None:
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


class ToolWorkers:
    """Up to `size` workers: a call takes an idle one or starts another, so a slow call holds up
    only its own caller; past `size` concurrent calls, a call waits for a worker."""

    def __init__(self, size: int = 4) -> None:
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[ToolWorker] = []
        self._lock = threading.Lock()

    def call(self, request: dict[str, Any], timeout: float) -> Any:
        with self._slots:
            with self._lock:
                worker = self._idle.pop() if self._idle else ToolWorker()
            try:
                return worker.call(request, timeout)
            finally:
                with self._lock:
                    self._idle.append(worker)

    def start_soon(self) -> None:
        """Start one worker in the background (its imports take a second), so the first call does not wait."""
        with self._lock:
            if self._idle:
                return
            worker = ToolWorker()
            self._idle.append(worker)
        threading.Thread(target=worker.start, name="tool-worker", daemon=True).start()


WORKERS = ToolWorkers()  # one pool per service process, shared by every registry it loads


class IsolatedTool(BaseTool):
    """`inner`'s name, description and arguments; each call runs in a worker process."""

    module_file: str
    timeout: float = 30.0
    # The service's settings as JSON: the worker builds its own copy of the tool from the
    # module, with the same settings in its context. Kept out of repr: they may hold secrets.
    settings: str = Field(default="{}", repr=False, exclude=True)

    @classmethod
    def of(cls, tool: BaseTool, module_file: Path, timeout: float, settings: Settings) -> IsolatedTool:
        return cls(
            name=tool.name,
            description=tool.description,
            args_schema=tool.args_schema,
            module_file=str(module_file),
            timeout=timeout,
            settings=settings.model_dump_json(),
            metadata=tool.metadata,
        )

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("run_manager", None)
        request = {
            "module": self.module_file,
            "version": _version(self.module_file),
            "settings": self.settings,
            "tool": self.name,
            "input": args[0] if args and not kwargs else kwargs,
            "seconds": max(1, int(self.timeout)),
        }
        return WORKERS.call(request, self.timeout)


def _version(module_file: str) -> int:
    """The module file's modification time: a worker reloads an edited module."""
    try:
        return os.stat(module_file).st_mtime_ns
    except OSError:
        return 0
