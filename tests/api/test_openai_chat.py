"""/v1/chat/completions and /v1/models with the official `openai` client,
against the app under uvicorn on 127.0.0.1, the fake upstream behind it."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import openai
import pytest
from fastapi import FastAPI

from agent_service.api.app import create_app
from tests.conftest import REPO, Rows, wait_for
from tests.fake_openai import FakeOpenAI, Reply
from tests.sse import hang_up_at

REACT_CALL = 'Thought: I should compute this.\nAction: calculator\nAction Input: {"expression": "2**10 + 3"}'
REACT_FINAL = "Thought: I now know the final answer\nFinal Answer: 2**10 + 3 is 1027."
DOCS = [("pumps.md", b"# Pumps\n\nError E-7731 means the pump lost pressure. Check the valve first.\n")]


@pytest.fixture
def serve(make_settings, upstream: FakeOpenAI, tmp_path: Path, live_server_for) -> Callable[..., tuple[FastAPI, str]]:
    tools = tmp_path / "tools"
    tools.mkdir()
    shutil.copy(REPO / "tools" / "calculator.py", tools)
    base = {
        "provider": "openai",
        "base_url": upstream.base_url,
        "api_key": "sk-upstream",
        "model": "fake-model",
        "max_retries": 0,  # a scripted failure is the answer, not retried
    }
    models = {
        "gpt-test": base,
        "react": {**base, "agent_style": "react"},
        "native": {**base, "agent_style": "tool_calling"},
    }
    apps: list[FastAPI] = []

    def start(**overrides) -> tuple[FastAPI, str]:
        app = create_app(make_settings(models=models, tools_dir=tools, **overrides))
        apps.append(app)
        return app, live_server_for(app)

    yield start
    for app in apps:
        app.state.services.close()


@pytest.fixture
def served(serve) -> tuple[FastAPI, str]:
    return serve()


@pytest.fixture
async def client(served) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=f"{served[1]}/v1", api_key="unused", max_retries=0) as client:
        yield client


@pytest.fixture
def rows(served) -> Rows:
    return Rows(served[0])


async def stream_chunks(client: openai.AsyncOpenAI, **body) -> list:
    stream = await client.chat.completions.create(model=body.pop("model", "gpt-test"), stream=True, **body)
    return [chunk async for chunk in stream]


def text_of(chunks: list, field: str = "content") -> str:
    return "".join(getattr(c.choices[0].delta, field, None) or "" for c in chunks if c.choices)


# --- chat_normal ---------------------------------------------------------------------


async def test_stream_is_a_normal_completion_with_the_conversation_id(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue("Hello there, friend.")

    chunks = await stream_chunks(
        client, messages=[{"role": "user", "content": "Hi"}], stream_options={"include_usage": True}
    )

    assert text_of(chunks) == "Hello there, friend."
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    conversation_ids = {c.conversation_id for c in chunks}
    assert len(conversation_ids) == 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0

    [conversation] = rows.conversations()
    assert conversation.id in conversation_ids and conversation.title == "Hi"
    user, answer = rows.messages()
    assert (user.role, user.content) == ("user", "Hi")
    assert (answer.content, answer.status, answer.model) == ("Hello there, friend.", "complete", "gpt-test")
    assert chunks[0].id == f"chatcmpl-{answer.id}"
    assert upstream.requests[-1]["messages"] == [{"role": "user", "content": "Hi"}]
    assert "temperature" not in upstream.requests[-1]  # none asked for: the model's own


@pytest.mark.http_upstream  # the request on the wire
async def test_non_stream_has_real_usage_and_parameters_reach_the_upstream(client, upstream: FakeOpenAI):
    upstream.enqueue("Forty-two.")

    completion = await client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "The answer?"}],
        temperature=0.2,
        top_p=0.5,
        max_tokens=50,
        stop=["END"],
    )

    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Forty-two."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.conversation_id and completion.message_id
    sent = upstream.requests[-1]
    # The upstream's own count (the fake counts a character in four), not an estimate.
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (0, 2, 2)
    assert not (usage.model_extra or {}).get("estimated")
    assert sent["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "The answer?"},
    ]
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"], sent["stop"]) == (0.2, 0.5, 50, ["END"])


async def test_conversation_id_continues_with_history_from_the_database(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue("Nice to meet you, Ada.", "Your name is Ada.")
    first = await client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "I am Ada."}])

    second = await client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "What is my name?"}],
        extra_body={"conversation_id": first.conversation_id},
    )

    assert second.conversation_id == first.conversation_id
    assert upstream.requests[-1]["messages"] == [
        {"role": "user", "content": "I am Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    assert len(rows.conversations()) == 1
    assert [m.content for m in rows.messages()][-1] == "Your name is Ada."


async def test_earlier_turns_in_messages_are_the_history(client, upstream: FakeOpenAI):
    upstream.enqueue("Blue.")
    messages = [
        {"role": "user", "content": "My favourite colour is blue."},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": [{"type": "text", "text": "Which colour?"}]},
    ]

    await client.chat.completions.create(model="gpt-test", messages=messages)

    assert upstream.requests[-1]["messages"][:2] == messages[:2]
    assert upstream.requests[-1]["messages"][2] == {"role": "user", "content": "Which colour?"}


async def test_models(client):
    models = await client.models.list()
    one = await client.models.retrieve("react")

    assert [m.id for m in models.data] == ["gpt-test", "react", "native"]
    assert one.id == "react" and one.owned_by == "agent-service"


# --- chat_knowledge ------------------------------------------------------------------


async def knowledge_base(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        await http.post("/knowledge_bases", json={"name": "appliances"})
        response = await http.post("/knowledge_bases/appliances/files", files=[("files", doc) for doc in DOCS])
        assert response.status_code == 200, response.text


async def test_knowledge_stream_has_sources_on_the_first_chunk(client, served, upstream: FakeOpenAI, rows: Rows):
    await knowledge_base(served[1])
    upstream.enqueue("E-7731 means lost pressure [1].")

    chunks = await stream_chunks(
        client,
        messages=[{"role": "user", "content": "What does error E-7731 mean?"}],
        extra_body={"chat_mode": "chat_knowledge", "chat_param": "appliances"},
    )

    [source] = chunks[0].sources
    assert (source["index"], source["file"]) == (1, "pumps.md") and "E-7731" in source["snippet"]
    assert not any(getattr(c, "sources", None) for c in chunks[1:])
    assert text_of(chunks) == "E-7731 means lost pressure [1]."
    assert "E-7731 means the pump lost pressure" in json.dumps(upstream.requests[-1]["messages"])
    answer = rows.messages()[-1]
    assert answer.meta["sources"][0]["file"] == "pumps.md"


async def test_knowledge_non_stream_puts_sources_on_the_message(client, served, upstream: FakeOpenAI):
    await knowledge_base(served[1])
    upstream.enqueue("Check the valve [1].")

    completion = await client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "E-7731?"}],
        extra_body={"chat_mode": "chat_knowledge", "chat_param": "appliances"},
    )

    message = completion.choices[0].message
    assert message.content == "Check the valve [1]." and message.sources[0]["file"] == "pumps.md"


# --- chat_agent ----------------------------------------------------------------------


async def test_agent_stream_shows_each_tool_call_and_its_result(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue(
        Reply(text="", tool_calls=[{"name": "calculator", "arguments": {"expression": "3*3"}}]), "It is 9."
    )

    chunks = await stream_chunks(
        client, model="native", messages=[{"role": "user", "content": "3*3?"}], extra_body={"chat_mode": "chat_agent"}
    )

    # The service ran the tool: no standard tool_calls, which a client would try to run itself.
    assert not [c for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    [call_chunk] = [c for c in chunks if getattr(c, "server_tool_call", None)]
    call = call_chunk.server_tool_call
    assert (call["name"], json.loads(call["arguments"])) == ("calculator", {"expression": "3*3"})
    [result_chunk] = [c for c in chunks if getattr(c, "tool_result", None)]
    result = result_chunk.tool_result
    assert (result["id"], result["output"], result["is_error"]) == (call["id"], "9", False)
    assert result["elapsed_ms"] >= 0
    assert chunks.index(call_chunk) < chunks.index(result_chunk)
    assert text_of(chunks) == "It is 9."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"

    answer = rows.messages()[-1]
    [stored] = rows.tool_calls(answer.id)
    assert (stored.run_id, stored.tool, stored.output) == (call["id"], "calculator", "9")
    assert answer.content == "It is 9."


async def test_react_agent_streams_reasoning_apart_from_the_answer(client, upstream: FakeOpenAI):
    upstream.enqueue(REACT_CALL, REACT_FINAL)

    chunks = await stream_chunks(
        client,
        model="react",
        messages=[{"role": "user", "content": "What is 2**10 + 3?"}],
        extra_body={"chat_mode": "chat_agent", "chat_param": "calculator"},
    )

    assert text_of(chunks) == "2**10 + 3 is 1027."
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1  # streamed, not one block
    reasoning = text_of(chunks, "reasoning_content")
    assert "Action: calculator" in reasoning and "I now know the final answer" in reasoning
    assert "1027." not in reasoning


async def test_agent_non_stream_carries_the_trace_on_the_message(client, upstream: FakeOpenAI):
    upstream.enqueue(REACT_CALL, REACT_FINAL)

    completion = await client.chat.completions.create(
        model="react", messages=[{"role": "user", "content": "2**10 + 3?"}], extra_body={"chat_mode": "chat_agent"}
    )

    message = completion.choices[0].message
    assert message.content == "2**10 + 3 is 1027."
    assert message.tool_calls is None  # the service ran them: see server_tool_calls
    [call] = message.server_tool_calls
    assert call["name"] == "calculator"
    assert message.tool_results == [
        {"id": call["id"], "output": "1027", "is_error": False, "elapsed_ms": message.tool_results[0]["elapsed_ms"]}
    ]
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens > 0


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"model": "nope"}, 404, "invalid_model", "model"),
        ({"messages": []}, 400, "invalid_messages", "messages"),
        ({"messages": None}, 400, "invalid_messages", "messages"),
        ({"messages": [{"role": "system", "content": "hi"}]}, 400, "invalid_messages", "messages"),
        ({"messages": [{"role": "tool", "content": "4"}]}, 400, "invalid_messages", "messages"),
        ({"messages": [{"role": "user", "content": "   "}]}, 400, "invalid_messages", "messages"),
        ({"chat_mode": "chat_magic"}, 400, "invalid_chat_mode", "chat_mode"),
        ({"chat_mode": "chat_knowledge"}, 400, "invalid_chat_param", "chat_param"),
        ({"chat_mode": "chat_knowledge", "chat_param": "nowhere"}, 404, "invalid_chat_param", "chat_param"),
        ({"chat_mode": "chat_agent", "chat_param": "calculator,teleport"}, 400, "invalid_chat_param", "chat_param"),
        ({"temperature": 3}, 400, "invalid_value", "temperature"),
        ({"top_p": 0}, 400, "invalid_value", "top_p"),
        ({"max_tokens": 0}, 400, "invalid_value", "max_tokens"),
        ({"n": 2}, 400, "invalid_value", "n"),
        ({"stop": ["a", "b", "c", "d", "e"]}, 400, "invalid_value", "stop"),
        ({"conversation_id": "not an id!"}, 400, "invalid_conversation_id", "conversation_id"),
        (
            {
                "chat_mode": "chat_knowledge",
                "chat_param": "docs",
                "tools": [{"type": "function", "function": {"name": "f"}}],
            },
            400,
            "unsupported_parameter",
            "tools",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "not a name"}}]},
            400,
            "invalid_value",
            "tools.0.function.name",
        ),
        ({"logprobs": True}, 400, "unsupported_parameter", "logprobs"),
        ({"modalities": ["text", "audio"]}, 400, "unsupported_parameter", "modalities"),
        ({"response_format": {"type": "json_schema"}}, 400, "invalid_value", "response_format"),
    ],
)
async def test_bad_requests_get_openai_errors_and_write_nothing(served, rows: Rows, body, status, code, param):
    request = {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}], **body}
    request = {key: value for key, value in request.items() if value is not None}

    async with httpx.AsyncClient(base_url=served[1]) as http:
        response = await http.post("/v1/chat/completions", json=request)

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert error["type"] == "invalid_request_error" and error["message"]
    assert "Value error" not in error["message"]  # the validator's own words, not pydantic's wrapper
    assert set(response.json()) == {"error"}
    assert rows.conversations() == [] and rows.messages() == []


async def test_the_openai_client_raises_its_own_errors(client):
    with pytest.raises(openai.NotFoundError) as missing_model:
        await client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError) as bad_messages:
        await client.chat.completions.create(model="gpt-test", messages=[])

    assert missing_model.value.code == "invalid_model" and "gpt-test" in missing_model.value.message
    assert bad_messages.value.code == "invalid_messages"


@pytest.mark.http_upstream  # the request on the wire
async def test_upstream_failure_mid_stream_is_an_error_and_keeps_the_partial(client, upstream, rows: Rows):
    upstream.enqueue(Reply(text="one two three four", fail_after=2))

    received = []
    with pytest.raises(openai.APIError) as failed:
        stream = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "count"}], stream=True
        )
        async for chunk in stream:
            received.append(chunk)

    assert "one two" in text_of(received)
    assert "Error" in failed.value.message
    answer = wait_for(rows.saved_answer)
    assert (answer.status, answer.content) == ("error", "one two")
    assert answer.meta["error"]


async def test_upstream_failure_without_stream_is_a_502(client, upstream, rows: Rows):
    upstream.enqueue(Reply(status=500))

    with pytest.raises(openai.InternalServerError) as failed:
        await client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])

    assert failed.value.status_code == 502 and failed.value.body["code"] == "upstream_error"
    assert [m.status for m in rows.messages()] == ["complete", "error"]


def test_a_client_that_disconnects_leaves_the_partial_saved(served, upstream: FakeOpenAI):
    app, url = served
    upstream.enqueue(Reply(text=" ".join(f"w{n}" for n in range(200)), delay=0.02))
    body = {"model": "gpt-test", "messages": [{"role": "user", "content": "talk"}], "stream": True}

    hang_up_at(url, "/v1/chat/completions", body, '" w3"')

    rows = Rows(app)
    answer = wait_for(rows.saved_answer)
    assert answer.status == "interrupted" and answer.meta["reason"] == "client_disconnected"
    assert answer.content.startswith("w0 w1 w2 w3")


# --- API keys ----------------------------------------------------------------------------


async def test_keys_are_checked_and_conversations_are_private(serve, upstream: FakeOpenAI):
    app, url = serve(api_keys=["sk-alice", "sk-bob"])
    upstream.enqueue("Hi Alice.", "Hi Bob.")
    async with (
        openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="sk-alice", max_retries=0) as alice,
        openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="sk-bob", max_retries=0) as bob,
        openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="sk-mallory", max_retries=0) as stranger,
    ):
        with pytest.raises(openai.AuthenticationError) as refused:
            await stranger.models.list()
        mine = await alice.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "I am Alice"}]
        )
        # Alice's id is unknown to Bob: his turn starts a conversation of his own.
        his = await bob.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "Who is this?"}],
            extra_body={"conversation_id": mine.conversation_id},
            store=True,
        )

    assert refused.value.status_code == 401 and refused.value.code == "invalid_api_key"
    assert "sk-mallory" not in str(refused.value.body)
    assert his.conversation_id != mine.conversation_id
    assert "Alice" not in str(upstream.requests[-1]["messages"])
    rows = Rows(app)
    assert [m.content for m in rows.messages(mine.conversation_id)] == ["I am Alice", "Hi Alice."]
    assert "sk-alice" not in json.dumps([m.meta for m in rows.messages()])
    async with httpx.AsyncClient(base_url=url) as http:
        listing = await http.get("/conversations", headers={"Authorization": "Bearer sk-bob"})
    assert [c["id"] for c in listing.json()["items"]] == [his.conversation_id]
