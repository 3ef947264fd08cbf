"""The embedded model's own process: llama.cpp runs here, so a native crash
(an illegal instruction, a segfault, memory exhausted) ends this process and
one answer, never the service.

Protocol, one JSON object per line. In, on stdin:
  {"id": n, "model": {"path", "n_ctx", "n_threads"}, "messages": [...], "params": {...}}
  {"cancel": n}                       stop request n after its current token
Out, on the original stdout (llama.cpp's own prints go to stderr):
  {"id": n, "text": "...", "finish": null | "stop" | "length"}   per chunk
  {"id": n, "end": true}                                           the request is over
  {"id": n, "error": "..."}                                        it failed (and is over)
The process exits when its stdin closes: the service is gone.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO

from agent_service.llm.embedded import EMBEDDED_MODELS


@lru_cache(maxsize=1)  # one model in memory at a time
def load(path: str, n_ctx: int, n_threads: int | None) -> Any:
    from llama_cpp import Llama

    return Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)


def model_file(model: dict[str, Any]) -> str:
    if model.get("path"):
        return model["path"]
    return str(EMBEDDED_MODELS[model["embedded"]].path(Path(model["cache_dir"])))


def complete(request: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(text, finish_reason) for each chunk of one chat completion."""
    model = request["model"]
    llm = load(model_file(model), model["n_ctx"], model.get("n_threads"))
    if not request["params"].get("temperature"):
        # Greedy answers are promised to repeat: the prompt is evaluated whole, not after a
        # reused prefix (evaluated in other batches, its logits differ in the last bits).
        llm.reset()
    parts = llm.create_chat_completion(messages=request["messages"], stream=True, **request["params"])
    for part in parts:
        choice = part["choices"][0]
        text, finish = choice["delta"].get("content") or "", choice.get("finish_reason")
        if text or finish:
            yield text, finish


def _read_requests(requests: queue.Queue, cancelled: set[int]) -> None:
    for line in sys.stdin:
        message = json.loads(line)
        if "cancel" in message:
            cancelled.add(message["cancel"])
        else:
            requests.put(message)
    os._exit(0)  # stdin closed: the service is gone, and so is this process


def serve(out: TextIO) -> None:
    requests: queue.Queue = queue.Queue()
    cancelled: set[int] = set()
    threading.Thread(target=_read_requests, args=(requests, cancelled), daemon=True).start()

    def send(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    while True:
        request = requests.get()
        rid = request["id"]
        try:
            for text, finish in complete(request):
                send({"id": rid, "text": text, "finish": finish})
                if rid in cancelled:
                    break
        except Exception as exc:
            send({"id": rid, "error": f"{type(exc).__name__}: {exc}"})
        else:
            send({"id": rid, "end": True})
        cancelled.discard(rid)


def main() -> None:
    # The protocol keeps the real stdout; anything else written to fd 1 (llama.cpp's
    # C code prints there) goes to stderr instead of into the protocol.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(out)


if __name__ == "__main__":
    main()
