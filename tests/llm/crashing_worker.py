"""The embedded model's worker, made to die of SIGILL after its first chunk:
what a llama.cpp build with instructions this CPU lacks does mid-answer."""

from __future__ import annotations

import os
import signal

from agent_service.llm import model_worker

complete = model_worker.complete


def complete_then_crash(request):
    for chunk in complete(request):
        yield chunk
        os.kill(os.getpid(), signal.SIGILL)


model_worker.complete = complete_then_crash

if __name__ == "__main__":
    model_worker.main()
