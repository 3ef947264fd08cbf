"""Benchmark: the agent executor's own cost per step.

A scripted model that answers at once and a tool that returns at once, so
what is left is the service's work per step: the model call through
LangChain, parsing the ReAct output, running the tool, the callback events,
SSE framing, and saving the answer with its tool calls. Each request is a
full `/chat/agent_chat` stream over HTTP (in-process ASGI) with STEPS tool
calls and a final answer; per-step cost = (time with STEPS calls - time with
none) / STEPS, median over RUNS requests. Run: `.venv/bin/python bench/agent_step.py`.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from agent_service.api.app import create_app
from agent_service.config import Settings

REPO = Path(__file__).resolve().parent.parent
STEPS = 10
RUNS = int(__import__("os").environ.get("BENCH_RUNS", 60))
ECHO_TOOL = '''
from langchain_core.tools import tool


@tool
def echo(text: str) -> str:
    """Return the text."""
    return text
'''


async def timed_requests(client: httpx.AsyncClient, model: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = await client.post("/chat/agent_chat", json={"query": "go", "model_name": model, "stream": True})
        assert response.status_code == 200 and '"type":"final_answer"' in response.text, response.text[-500:]
        times.append(time.perf_counter() - start)
    return times


async def main() -> None:
    action = 'Thought: echo it.\nAction: echo\nAction Input: {"text": "hi"}'
    with tempfile.TemporaryDirectory() as tmp:
        tools = Path(tmp) / "tools"
        tools.mkdir()
        (tools / "echo.py").write_text(ECHO_TOOL)
        settings = Settings(
            data_dir=Path(tmp) / "data",
            prompts_dir=REPO / "prompts",
            tools_dir=tools,
            agent_max_iterations=STEPS + 5,
            models={
                "steps": {
                    "provider": "fake",
                    "agent_style": "react",
                    "responses": [action] * STEPS + ["Final Answer: done"],
                },
                "direct": {"provider": "fake", "agent_style": "react", "responses": ["Final Answer: done"]},
            },
        )
        app = create_app(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            await timed_requests(client, "steps", 5)  # warm-up
            await timed_requests(client, "direct", 5)
            with_steps = await timed_requests(client, "steps", RUNS)
            without = await timed_requests(client, "direct", RUNS)
        app.state.services.close()

    per_step = [(a - b) * 1000 / STEPS for a, b in zip(sorted(with_steps), sorted(without), strict=True)]
    print(f"request with {STEPS} tool steps: median {statistics.median(with_steps) * 1000:.1f} ms")
    print(f"request with no tool step:      median {statistics.median(without) * 1000:.1f} ms")
    print(
        f"per agent step (model call + parse + tool + events + persistence): "
        f"median {statistics.median(per_step):.2f} ms, "
        f"p90 {statistics.quantiles(per_step, n=10)[8]:.2f} ms over {RUNS} runs"
    )


if __name__ == "__main__":
    asyncio.run(main())
