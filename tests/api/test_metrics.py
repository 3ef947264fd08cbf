"""GET /metrics in Prometheus' text format, and the request id on every response."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from agent_service.api.app import create_app
from tests.api.test_agent_chat import TEST_TOOLS, agent_models
from tests.asgi import asgi_client
from tests.conftest import tools_folder
from tests.fake_openai import FakeOpenAI


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_count_a_streamed_answer_and_a_tool_call(make_settings, upstream: FakeOpenAI, tmp_path: Path):
    app = create_app(make_settings(models=agent_models(upstream), tools_dir=tools_folder(tmp_path, TEST_TOOLS)))
    async with asgi_client(app) as http:
        before = samples((await http.get("/metrics")).text)
        upstream.enqueue("Hello there.")
        await http.post("/chat/chat", json={"query": "hi", "stream": True, "model_name": "react"})
        upstream.enqueue('Action: calculator\nAction Input: {"expression": "2+3"}', "Final Answer: 5")
        await http.post("/chat/agent_chat", json={"query": "2+3?", "stream": True, "model_name": "react"})
        response = await http.get("/metrics")
    app.state.services.close()

    after = samples(response.text)
    assert response.headers["content-type"].startswith("text/plain")
    route = {"method": "POST", "route": "/chat/chat", "status": "200"}
    assert delta(before, after, "agent_service_requests_total", **route) == 1
    assert delta(before, after, "agent_service_time_to_first_token_seconds_count") == 2
    assert delta(before, after, "agent_service_model_first_chunk_seconds_count", model="react") == 3
    assert delta(before, after, "agent_service_tool_calls_total", tool="calculator", outcome="ok") == 1
    assert after[("agent_service_streams_in_flight", ())] == before.get(("agent_service_streams_in_flight", ()), 0)


async def test_every_response_carries_a_request_id(client):
    mine = await client.get("/health", headers={"X-Request-ID": "trace-42"})
    fresh = await client.get("/health")
    odd = await client.get("/health", headers={"X-Request-ID": "not a sane id!"})

    assert mine.headers["x-request-id"] == "trace-42"
    assert len(fresh.headers["x-request-id"]) == 16
    assert odd.headers["x-request-id"] != "not a sane id!"


def test_log_lines_carry_the_request_id(tmp_path: Path, upstream: FakeOpenAI):
    from tests.service_process import Service

    service = Service(tmp_path, upstream).start()
    try:
        httpx.get(f"{service.url}/health", headers={"X-Request-ID": "look-for-me"})
    finally:
        service.stop()
    assert "[look-for-me]" in service.log.read_text()
