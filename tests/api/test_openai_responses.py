"""/v1/responses with the openai SDK's Responses client: plain, streamed (its stream helpers
parse every event), a function tool round trip, structured output (`text.format`), retrieve,
background responses, resuming a stream, cancel, `previous_response_id`, input items, delete,
and the OpenAI Agents SDK's default (Responses) model. The fake upstream answers as a capable
model would (tests/plausible_model.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import openai
import pytest
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

from agent_service.api.app import create_app
from tests.conftest import Rows, wait_for
from tests.fake_openai import FakeOpenAI, Reply
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


async def finished(client: openai.AsyncOpenAI, response_id: str, timeout: float = 10.0):
    """The response once it is no longer queued or in progress."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (response := await client.responses.retrieve(response_id)).status in ("queued", "in_progress"):
        assert asyncio.get_running_loop().time() < deadline, f"{response_id} still {response.status}"
        await asyncio.sleep(0.05)
    return response


async def test_a_background_response_returns_at_once_and_runs_to_its_end(client, served, upstream: FakeOpenAI):
    upstream.enqueue(Reply(text="Slowly but surely.", first_delay=0.5))

    queued = await client.responses.create(model="gpt-test", input="Take your time.", background=True)
    done = await finished(client, queued.id)

    assert (queued.status, queued.background, queued.output) == ("queued", True, [])
    assert done.status == "completed" and done.output_text == "Slowly but surely."
    answer = wait_for(Rows(served[0]).saved_answer)
    assert (answer.status, answer.content) == ("complete", "Slowly but surely.")


async def test_a_stream_resumes_after_any_sequence_number(client, upstream: FakeOpenAI):
    upstream.enqueue(Reply(text=" ".join(f"w{n}" for n in range(12)), delay=0.05))

    seen = []
    async with await client.responses.create(
        model="gpt-test", input="Twelve words, please.", stream=True, background=True
    ) as stream:  # background: it goes on when the client leaves
        async for event in stream:
            seen.append(event)
            if event.type == "response.output_text.delta" and event.delta.strip() == "w3":
                break
    response_id = seen[0].response.id
    rest = [event async for event in await client.responses.retrieve(response_id, stream=True, starting_after=5)]
    whole = [event async for event in await client.responses.retrieve(response_id, stream=True)]

    assert [e.sequence_number for e in rest] == list(range(6, whole[-1].sequence_number + 1))
    assert [e.model_dump() for e in whole[6:]] == [e.model_dump() for e in rest]
    assert [e.type for e in whole[: len(seen)]] == [e.type for e in seen]
    assert rest[-1].type == "response.completed"
    assert rest[-1].response.output_text == " ".join(f"w{n}" for n in range(12))


async def test_cancel_stops_a_background_response(client, served, upstream: FakeOpenAI):
    upstream.enqueue(Reply(text=" ".join(f"w{n}" for n in range(40)), delay=0.1))
    queued = await client.responses.create(model="gpt-test", input="Go on and on.", background=True)
    async for event in await client.responses.retrieve(queued.id, stream=True):
        if event.type == "response.output_text.delta":
            break

    cancelled = await client.responses.cancel(queued.id)
    again = await client.responses.retrieve(queued.id)

    assert cancelled.status == again.status == "cancelled"
    assert again.output_text.startswith("w0") and len(again.output_text.split()) < 40
    assert wait_for(Rows(served[0]).saved_answer).status == "interrupted"
    wait_for(lambda: upstream.streams_cut == 1)


async def test_previous_response_id_continues_with_its_input_and_output(client, upstream: FakeOpenAI):
    upstream.enqueue("Nice to meet you, Ada.", "Your name is Ada.")

    first = await client.responses.create(model="gpt-test", input="My name is Ada.", instructions="Be brief.")
    second = await client.responses.create(
        model="gpt-test", input="What is my name?", previous_response_id=first.id, instructions="Be kind."
    )

    assert second.previous_response_id == first.id and second.output_text == "Your name is Ada."
    assert second.conversation_id == first.conversation_id  # type: ignore[attr-defined]
    assert upstream.requests[-1]["messages"] == [
        {"role": "system", "content": "Be kind."},  # instructions are not carried over
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "What is my name?"},
    ]


async def test_a_function_tool_round_trip_by_previous_response_id(client, upstream: FakeOpenAI):
    first = await client.responses.create(model="gpt-test", input='Weather in "Paris"?', tools=[WEATHER])
    [call] = [item for item in first.output if item.type == "function_call"]

    second = await client.responses.create(
        model="gpt-test",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18 °C"}],
        tools=[WEATHER],
    )

    assert second.output_text == "The result is 18 °C."
    sent = upstream.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"] == call.call_id


async def test_input_items_and_delete(client, upstream: FakeOpenAI):
    items = [
        {"role": "user", "content": "First question."},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "Second question."},
    ]
    response = await client.responses.create(model="gpt-test", input=items)

    listed = await client.responses.input_items.list(response.id, order="asc")
    newest = await client.responses.input_items.list(response.id, limit=1)
    await client.responses.delete(response.id)

    assert [(item.role, item.content[0].text) for item in listed.data] == [
        ("user", "First question."),
        ("assistant", "First answer."),
        ("user", "Second question."),
    ]
    assert [item.content[0].text for item in newest.data] == ["Second question."] and newest.has_more
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError) as unknown:
        await client.responses.create(model="gpt-test", input="And?", previous_response_id=response.id)
    assert unknown.value.param == "previous_response_id"


async def test_another_keys_response_is_a_404(make_settings, live_server_for, upstream: FakeOpenAI):
    app = create_app(make_settings(api_keys=["sk-alice", "sk-bob"]))
    url = f"{live_server_for(app)}/v1"
    async with (
        openai.AsyncOpenAI(base_url=url, api_key="sk-alice", max_retries=0) as alice,
        openai.AsyncOpenAI(base_url=url, api_key="sk-bob", max_retries=0) as bob,
    ):
        mine = await alice.responses.create(model="gpt-test", input="A secret of mine.")
        for attempt in (
            bob.responses.retrieve(mine.id),
            bob.responses.cancel(mine.id),
            bob.responses.delete(mine.id),
            bob.responses.input_items.list(mine.id),
            bob.responses.create(model="gpt-test", input="Go on.", previous_response_id=mine.id),
        ):
            with pytest.raises(openai.NotFoundError):
                await attempt
        assert (await alice.responses.retrieve(mine.id)).output_text == "OK"
    app.state.services.close()


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


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"include": ["message.output_text.logprobs"]}, "include"),
        ({"max_tool_calls": 2}, "max_tool_calls"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt"),
        ({"conversation": "conv_1"}, "conversation"),
    ],
)
async def test_a_field_the_service_cannot_honour_is_a_400_naming_it(client, served, fields, param):
    with pytest.raises(openai.BadRequestError) as refused:
        await client.responses.create(model="gpt-test", input="hi", **fields)

    assert refused.value.param == param and refused.value.code == "unsupported_parameter"
    assert Rows(served[0]).messages() == []  # nothing written


async def test_reasoning_effort_reaches_the_model_and_the_accepted_fields_are_repeated(client, upstream: FakeOpenAI):
    upstream.enqueue("Four.")

    response = await client.responses.create(
        model="gpt-test",
        input="2+2?",
        reasoning={"effort": "low"},
        truncation="auto",
        include=["reasoning.encrypted_content"],
        service_tier="auto",
        prompt_cache_key="k1",
        safety_identifier="user-1",
    )

    assert response.output_text == "Four."
    assert upstream.requests[-1]["reasoning_effort"] == "low"
    assert response.reasoning is not None and response.reasoning.effort == "low"
    assert response.truncation == "auto"
