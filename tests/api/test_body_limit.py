"""A request body is bounded before any route reads it: 413, and nothing written."""

from __future__ import annotations

import httpx
import pytest

from agent_service.api.app import create_app
from tests.conftest import Rows


@pytest.fixture
def served(make_settings, live_server_for):
    app = create_app(make_settings(max_json_request_mb=0.01, max_request_mb=0.05))  # 10 KB, 50 KB
    yield app, live_server_for(app)
    app.state.services.close()


def test_a_json_body_over_the_limit_is_refused_and_writes_nothing(served):
    app, url = served

    declared = httpx.post(f"{url}/chat/chat", json={"query": "x" * 20_000, "model_name": "scripted"})

    def chunks():
        yield b'{"query": "'
        for _ in range(20):
            yield b"x" * 1000
        yield b'", "model_name": "scripted"}'

    streamed = httpx.post(f"{url}/chat/chat", content=chunks(), headers={"content-type": "application/json"})

    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.json()["msg"] == "the request body is over the limit of 10,485 bytes"
    assert Rows(app).conversations() == []


def test_an_upload_over_the_request_limit_is_refused(served):
    _, url = served
    httpx.post(f"{url}/knowledge_bases", json={"name": "docs"})

    big = httpx.post(f"{url}/knowledge_bases/docs/files", files=[("files", ("a.txt", b"word " * 20_000))])
    small = httpx.post(f"{url}/knowledge_bases/docs/files", files=[("files", ("b.txt", b"word " * 2_000))])

    assert big.status_code == 413 and "over the limit of 52,428 bytes" in big.json()["msg"]
    assert small.status_code == 200
    assert [f["name"] for f in httpx.get(f"{url}/knowledge_bases/docs/files").json()] == ["b.txt"]
