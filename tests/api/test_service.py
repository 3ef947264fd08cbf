"""/health, /models and API keys."""

from __future__ import annotations

import httpx

from agent_service.api.app import create_app
from tests.asgi import asgi_client


async def test_health(client: httpx.AsyncClient):
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["database"] == "ok"


async def test_models_lists_configured_models_without_keys(client: httpx.AsyncClient):
    body = (await client.get("/models")).json()

    assert body["default"] == "gpt-test"
    assert [m["name"] for m in body["models"]] == ["gpt-test", "scripted"]
    gpt = body["models"][0]
    assert gpt["provider"] == "openai" and gpt["model"] == "fake-model" and gpt["agent_style"] == "tool_calling"
    assert "sk-test" not in str(body)


async def test_scripted_model_answers_without_an_upstream(client: httpx.AsyncClient):
    body = (await client.post("/chat/chat", json={"query": "hi", "model_name": "scripted"})).json()

    assert body["text"] == "Scripted answer."


async def test_api_keys_guard_every_route_but_health(make_settings):
    app = create_app(make_settings(api_keys=["k1", "k2"]))
    async with asgi_client(app) as client:
        assert (await client.get("/health")).status_code == 200
        missing = await client.get("/models")
        wrong = await client.get("/models", headers={"Authorization": "Bearer nope"})
        right = await client.get("/models", headers={"Authorization": "Bearer k2"})
        chat = await client.post("/chat/chat", json={"query": "hi"})

    assert missing.status_code == wrong.status_code == chat.status_code == 401
    assert "API key" in missing.json()["msg"]
    assert right.status_code == 200
    app.state.services.close()
