"""/openapi.json says what the routes accept: the names the running service
knows (models, each chat kind's prompt templates, tools) as enums, uploads as
required non-empty files; requests built from it are accepted, and requests it
refuses are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jsonschema import Draft202012Validator

from agent_service.api.app import create_app
from agent_service.config import Settings
from agent_service.protocols.schema_marks import CHOICES, NAMES, SEPARATOR
from tests.asgi import asgi_client
from tests.fake_openai import FakeOpenAI

TEMPLATES = {
    "llm_chat": {"default": "{{ input }}", "terse": "Answer in one line: {{ input }}"},
    "agent": {"default": (Path(__file__).parents[2] / "prompts" / "agent" / "default.jinja2").read_text()},
    "kb_chat": {
        "default": "{{ context }}\n{{ input }}",
        "empty": "{{ input }}",
        "cited": "Cite: {{ context }} {{ input }}",
    },
}
MODELS = {
    "alpha": {"provider": "fake", "responses": ["Alpha answers."]},
    "beta": {"provider": "fake", "responses": ["Beta answers."]},
}


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    for kind, templates in TEMPLATES.items():
        (tmp_path / "prompts" / kind).mkdir(parents=True)
        for name, text in templates.items():
            (tmp_path / "prompts" / kind / f"{name}.jinja2").write_text(text)
    (tmp_path / "prompts" / "llm_chat" / ".draft.jinja2").write_text("{{ input }}")  # hidden: not a template
    return tmp_path / "prompts"


@pytest.fixture
async def http(make_settings: Callable[..., Settings], prompts_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with two scripted models and the prompt files above."""
    app: FastAPI = create_app(make_settings(prompts_dir=prompts_dir, models=MODELS))
    async with asgi_client(app) as http:
        yield http
    app.state.services.close()


async def fetch_schema(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def body_schema(schema: dict[str, Any], path: str, media_type: str = "application/json") -> dict[str, Any]:
    """The schema of a POST route's body, its `$ref` followed."""
    ref = schema["paths"][path]["post"]["requestBody"]["content"][media_type]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def string_choices(field: dict[str, Any]) -> list[str]:
    """The enum of a field that may also be empty or null (`anyOf`)."""
    [enum] = [branch["enum"] for branch in field.get("anyOf", [field]) if "enum" in branch]
    return enum


def validator(schema: dict[str, Any], path: str) -> Draft202012Validator:
    ref = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return Draft202012Validator({"$ref": ref, "components": schema["components"]})


async def test_the_schema_lists_the_configured_models_and_each_chat_kinds_prompts(http: httpx.AsyncClient):
    schema = await fetch_schema(http)
    chat, agent = body_schema(schema, "/chat/chat"), body_schema(schema, "/chat/agent_chat")
    kb_chat = body_schema(schema, "/chat/knowledge_base_chat")

    assert chat["properties"]["prompt_name"]["enum"] == ["default", "terse"]
    assert agent["properties"]["prompt_name"]["enum"] == ["default"]
    assert kb_chat["properties"]["prompt_name"]["enum"] == ["cited", "default", "empty"]
    for body in (chat, agent, kb_chat):
        assert string_choices(body["properties"]["model_name"]) == ["alpha", "beta"]
    assert body_schema(schema, "/v1/chat/completions")["properties"]["model"]["enum"] == ["alpha", "beta"]
    tools = [tool["name"] for tool in (await http.get("/tools")).json()["tools"]]
    assert agent["properties"]["tools"]["anyOf"][0]["items"]["enum"] == tools
    embedding_model = string_choices(body_schema(schema, "/knowledge_bases")["properties"]["embedding_model"])
    assert embedding_model == [(await http.post("/knowledge_bases", json={"name": "k"})).json()["embedding_model"]]
    text = str(schema)
    assert CHOICES not in text and NAMES not in text and SEPARATOR not in text


async def test_the_schema_follows_the_prompt_files(http: httpx.AsyncClient, prompts_dir: Path):
    (prompts_dir / "llm_chat" / "poem.jinja2").write_text("In verse: {{ input }}")
    (prompts_dir / "llm_chat" / "terse.jinja2").unlink()

    chat = body_schema(await fetch_schema(http), "/chat/chat")

    assert chat["properties"]["prompt_name"]["enum"] == ["default", "poem"]
    assert (await http.post("/chat/chat", json={"query": "hi", "prompt_name": "poem"})).status_code == 200
    assert (await http.post("/chat/chat", json={"query": "hi", "prompt_name": "terse"})).status_code == 400


async def test_requests_built_from_the_enums_are_accepted(http: httpx.AsyncClient):
    schema = await fetch_schema(http)
    chat = body_schema(schema, "/chat/chat")["properties"]
    models = string_choices(chat["model_name"])

    for model in models:
        for prompt in chat["prompt_name"]["enum"]:
            body = {"query": "hi", "model_name": model, "prompt_name": prompt}
            response = await http.post("/chat/chat", json=body)
            assert response.status_code == 200, body
            assert response.json()["text"] == f"{model.title()} answers."
    for model in body_schema(schema, "/v1/chat/completions")["properties"]["model"]["enum"]:
        completion = await http.post(
            "/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hi"}]}
        )
        assert completion.json()["choices"][0]["message"]["content"] == f"{model.title()} answers."
    refused = await http.post("/chat/chat", json={"query": "hi", "model_name": "gamma"})
    assert "gamma" not in models and refused.status_code == 400


@pytest.mark.parametrize("path", ["/knowledge_bases/{kb}/files", "/knowledge_base/upload_docs"])
async def test_uploads_declare_their_files_required_and_binary(http: httpx.AsyncClient, path: str):
    body = body_schema(await fetch_schema(http), path, "multipart/form-data")

    files = body["properties"]["files"]
    assert "files" in body["required"]
    assert files["type"] == "array" and files["minItems"] == 1
    assert files["items"]["type"] == "string" and files["items"]["contentMediaType"] == "application/octet-stream"


async def test_uploads_the_schema_describes_are_accepted_and_the_others_refused(http: httpx.AsyncClient):
    schema = await fetch_schema(http)
    files = body_schema(schema, "/knowledge_bases/{kb}/files", "multipart/form-data")["properties"]["files"]
    chatchat_form = body_schema(schema, "/knowledge_base/upload_docs", "multipart/form-data")["properties"]
    await http.post("/knowledge_bases", json={"name": "manuals"})
    guide = [("files", ("guide.md", b"# Guide\n\nRinse the filter monthly.\n"))]

    uploaded = await http.post("/knowledge_bases/manuals/files", files=guide)
    assert uploaded.status_code == 200 and uploaded.json()[0]["status"] == "indexed"
    assert files["minItems"] == 1 and files["items"]["minLength"] == 1
    none = await http.post("/knowledge_bases/manuals/files", data={"override": "true"})
    assert none.status_code == 422 and "files" in none.json()["msg"]
    empty = await http.post("/knowledge_bases/manuals/files", files=[("files", ("empty.md", b""))])
    assert empty.status_code == 400 and "empty" in empty.json()["msg"]

    pumps = [("files", ("pumps.md", b"# Pumps\n\nE-7731 means low pressure.\n"))]
    chatchat = await http.post("/knowledge_base/upload_docs", data={"knowledge_base_name": "manuals"}, files=pumps)
    assert chatchat.json()["code"] == 200 and chatchat.json()["data"] == {"failed_files": {}}
    assert chatchat_form["knowledge_base_name"]["minLength"] == 1
    nameless = await http.post("/knowledge_base/upload_docs", data={"knowledge_base_name": ""}, files=pumps)
    assert nameless.status_code == 422 and "knowledge_base_name" in nameless.json()["msg"]


def chat_completion(**fields: Any) -> dict[str, Any]:
    return {"model": "gpt-test", "messages": [{"role": "user", "content": "What is 2+2?"}], **fields}


# Requests the schema and the route agree on: accepted by both, or refused by both.
COMPLETIONS = [
    (chat_completion(), True),
    (chat_completion(messages=[{"role": "user", "content": " "}, {"role": "user", "content": "hi"}]), True),
    (chat_completion(messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}]), True),
    (chat_completion(messages=[{"role": "assistant", "content": "Hello."}]), True),  # to go on
    (chat_completion(messages=[{"role": "system", "content": "Be brief."}]), False),
    (chat_completion(messages=[{"role": "tool", "content": "4"}]), False),
    (chat_completion(messages=[{"role": "tool", "tool_call_id": "call_1", "content": "4"}]), True),
    (chat_completion(messages=[{"role": "user", "content": [{"type": "text", "text": "\x85 "}]}]), False),
    (chat_completion(model="no-such-model"), False),
    (chat_completion(stop=["a", "b", "c", "d", "e"]), False),
    (chat_completion(tools=[{"type": "function", "function": {"name": "f"}}]), True),
    (chat_completion(tools=[{"type": "function", "function": {"name": "f"}}], chat_mode="chat_agent"), True),
    (chat_completion(tools=[{"type": "function", "function": {"name": "f"}}], chat_mode="chat_knowledge"), False),
    (chat_completion(conversation_id="not an id!"), False),
    (chat_completion(conversation_id=""), True),
    (chat_completion(chat_mode="chat_knowledge"), False),
    (chat_completion(chat_mode="chat_knowledge", chat_param="a/b"), False),
    (chat_completion(chat_mode="chat_agent", chat_param=" calculator , ,current_time"), True),
    (chat_completion(chat_mode="chat_agent", chat_param=["calculator", " "]), True),
    (chat_completion(chat_mode="chat_agent", chat_param="calculator,teleport"), False),
    (chat_completion(chat_mode="chat_agent", chat_param=["calc"]), False),
    (chat_completion(chat_mode="chat_agent", stop=["x"]), False),
]


@pytest.mark.parametrize(("body", "accepted"), COMPLETIONS)
async def test_the_completion_schema_accepts_what_the_route_accepts(
    client: httpx.AsyncClient, upstream: FakeOpenAI, body: dict[str, Any], accepted: bool
):
    upstream.enqueue("4.")

    schema_says = validator(await fetch_schema(client), "/v1/chat/completions").is_valid(body)
    response = await client.post("/v1/chat/completions", json=body)

    assert schema_says is accepted
    assert (response.status_code == 200) is accepted, response.text
