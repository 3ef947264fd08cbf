"""The service's side of the embedded model's worker process (`model_worker`).

One worker per service, started on the first request and started again on the
request after a crash. Requests run one at a time, as llama.cpp would run them
anyway; a crash ends the request in flight with `ModelCrashError`.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)

WORKER_COMMAND = [sys.executable, "-m", "agent_service.llm.model_worker"]


class ModelCrashError(RuntimeError):
    """The model's process died mid-request (a native crash); the answer ends `interrupted`."""


class ModelError(RuntimeError):
    """The model refused or failed a request (a missing file, a bad parameter)."""


def describe_exit(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        if name == "SIGILL":
            return (
                "the embedded model crashed on an instruction this CPU does not run (SIGILL): "
                "rebuild llama-cpp-python: `rm -r .wheels && make install`"
            )
        if name == "SIGKILL":
            return "the embedded model's process was killed (SIGKILL; out of memory?)"
        return f"the embedded model crashed ({name})"
    return f"the embedded model's process exited (code {returncode})"


class ModelWorker:
    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or WORKER_COMMAND
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()  # one request at a time
        self._next_id = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _started(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1
            )
        return self._process

    def complete(
        self, *, model: dict[str, Any], messages: list[dict[str, str]], params: dict[str, Any]
    ) -> Iterator[tuple[str, str | None]]:
        """(text, finish_reason) per chunk. Closing the iterator early cancels the request."""
        with self._lock:
            process = self._started()
            self._next_id += 1
            rid, ended = self._next_id, False
            try:
                self._send(process, {"id": rid, "model": model, "messages": messages, "params": params})
                while (message := self._receive(process)).get("id") != rid or "text" in message:
                    if message.get("id") == rid:
                        yield message["text"], message["finish"]
                ended = True
                if "error" in message:
                    raise ModelError(message["error"])
            finally:
                if not ended and process.poll() is None:
                    self._cancel(process, rid)

    def _send(self, process: subprocess.Popen, message: dict[str, Any]) -> None:
        assert process.stdin is not None
        try:
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._crashed(process) from None

    def _receive(self, process: subprocess.Popen) -> dict[str, Any]:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise self._crashed(process)
        return json.loads(line)

    def _cancel(self, process: subprocess.Popen, rid: int) -> None:
        """Stop request `rid` and read up to its end, so the next request starts clean."""
        try:
            self._send(process, {"cancel": rid})
            while (message := self._receive(process)).get("id") != rid or "text" in message:
                pass
        except ModelCrashError:
            pass

    def _crashed(self, process: subprocess.Popen) -> ModelCrashError:
        returncode = process.wait()
        self._process = None  # the next request starts a new worker
        message = describe_exit(returncode)
        logger.error("%s; the next request starts a new one", message)
        return ModelCrashError(message)

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            assert process.stdin is not None
            process.stdin.close()  # the worker exits when its stdin closes
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
