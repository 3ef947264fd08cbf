"""/v1/responses with the openai SDK's Responses client: plain, streamed (its stream helpers
parse every event), a function tool round trip, structured output (`text.format`), retrieve,
and the OpenAI Agents SDK's default (Responses) model. The fake upstream answers as a capable
model would (tests/plausible_model.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import openai
import pytest
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

from agent_service.api.app import create_app
from tests.conftest import Rows
from tests.fake_openai import FakeOpenAI
from tests.plausible_model import plausible_reply

set_tracing_disabled(True)

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def served(make_settings, live_server_for, upstream: FakeOpenAI):
    upstream.responder = plausible_reply
    app = create_app(make_settings(openai_store_default=True))
    yield app, live_server_for(app)
    app.state.services.close()


@pytest.fixture
async def client(served) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=f"{served[1]}/v1", api_key="unused", max_retries=0) as client:
        yield client


async def test_a_plain_response_is_stored_and_can_be_retrieved(client, served, upstream: FakeOpenAI):
    upstream.enqueue("Paris is the capital of France.")

    response = await client.responses.create(
        model="gpt-test", input="What is the capital of France?", instructions="Answer in one sentence."
    )
    again = await client.responses.retrieve(response.id)

    assert response.status == "completed" and response.output_text == "Paris is the capital of France."
    assert response.usage is not None and response.usage.total_tokens > 0
    assert again.output_text == response.output_text and again.id == response.id
    sent = upstream.requests[-1]["messages"]
    assert sent == [
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    assert [m.content for m in Rows(served[0]).messages()] == [
        "What is the capital of France?",
        "Paris is the capital of France.",
    ]


async def test_a_stream_parses_with_the_sdks_own_helpers(client, upstream: FakeOpenAI):
    upstream.enqueue("One two three.")

    async with client.responses.stream(model="gpt-test", input="Count to three.") as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()

    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds.count("response.output_text.delta") == 3 and kinds[-1] == "response.completed"
    assert final.output_text == "One two three."


async def test_a_function_tool_round_trip(client, upstream: FakeOpenAI):
    first = await client.responses.create(model="gpt-test", input='Weather in "Paris"?', tools=[WEATHER])
    [call] = [item for item in first.output if item.type == "function_call"]
    second = await client.responses.create(
        model="gpt-test",
        input=[
            {"role": "user", "content": 'Weather in "Paris"?'},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "18 °C"},
        ],
        tools=[WEATHER],
    )

    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Paris"})
    assert upstream.requests[0]["tools"][0]["function"]["name"] == "get_weather"
    assert second.output_text == "The result is 18 °C."
    assert [m["role"] for m in upstream.requests[-1]["messages"]] == ["user", "assistant", "tool"]


async def test_text_format_json_schema_is_structured_output(client, upstream: FakeOpenAI):
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "born": {"type": "integer"}},
        "required": ["name", "born"],
        "additionalProperties": False,
    }

    response = await client.responses.create(
        model="gpt-test",
        input='Who wrote the first program? "Ada Lovelace", 1815.',
        text={"format": {"type": "json_schema", "name": "person", "schema": schema, "strict": True}},
    )

    assert json.loads(response.output_text) == {"name": "Ada Lovelace", "born": 1815}
    assert upstream.requests[-1]["response_format"]["json_schema"]["schema"] == schema


async def test_what_is_not_served_yet_is_refused_by_name(client):
    with pytest.raises(openai.BadRequestError) as refused:
        await client.responses.create(model="gpt-test", input="hi", background=True)

    assert refused.value.param == "background"


async def test_the_agents_sdks_default_responses_model_runs_a_tool(served):
    ran = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return f"18 °C in {city}"

    model = OpenAIResponsesModel(
        model="gpt-test", openai_client=openai.AsyncOpenAI(base_url=f"{served[1]}/v1", api_key="unused")
    )
    agent = Agent(name="Assistant", tools=[get_weather], model=model)

    result = await Runner.run(agent, 'What is the weather in "Oslo"?')

    assert ran == ["Oslo"] and "18 °C in Oslo" in result.final_output


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": []}, "input"),
        ({"input": [{"role": "wizard", "content": "hi"}]}, "input"),
        ({"input": "hi", "tool_choice": {}}, "tool_choice"),
        ({"input": [{"type": "image_generation_call"}]}, "input"),
    ],
)
async def test_a_request_that_makes_no_chat_is_a_400_naming_the_field(client, body, param):
    with pytest.raises(openai.BadRequestError) as refused:
        await client.responses.create(model="gpt-test", **body)

    assert refused.value.param == param
