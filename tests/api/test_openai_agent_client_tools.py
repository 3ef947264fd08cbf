"""/v1/chat/completions in chat_agent with the client's own function tools: the service's
tools run on the server, a call of the client's tool pauses the answer (`requires_action`)
and ends the completion with standard `tool_calls`, and the client's next request with
the `tool` results continues the same answer. Real clients: the openai SDK and the OpenAI
Agents SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)

from agent_service.api.app import create_app
from tests.api.test_agent_chat import TEST_TOOLS, agent_models
from tests.api.test_openai_client_tools import WEATHER
from tests.conftest import Rows, tools_folder, wait_for
from tests.fake_openai import FakeOpenAI, Reply

set_tracing_disabled(True)

AGENT = {"chat_mode": "chat_agent"}
QUESTION = {"role": "user", "content": "What is 6*7, and the weather in Paris?"}


@pytest.fixture
def served(make_settings, live_server_for, upstream: FakeOpenAI, tools_dir):
    app = create_app(make_settings(models=agent_models(upstream), tools_dir=tools_dir, client_tool_timeout=10))
    yield app, live_server_for(app)
    app.state.services.close()


@pytest.fixture
def tools_dir(tmp_path):
    return tools_folder(tmp_path, TEST_TOOLS)


@pytest.fixture
async def client(served) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=f"{served[1]}/v1", api_key="unused", max_retries=0) as client:
        yield client


def script(upstream: FakeOpenAI) -> None:
    upstream.enqueue(
        Reply(text="", tool_calls=[{"id": "m1", "name": "calculator", "arguments": {"expression": "6*7"}}]),
        Reply(text="", tool_calls=[{"id": "m2", "name": "get_weather", "arguments": {"city": "Paris"}}]),
        "6*7 is 42, and it is 18 °C in Paris.",
    )


async def test_a_server_tool_runs_a_client_tool_pauses_and_its_result_resumes(client, served, upstream):
    script(upstream)
    rows = Rows(served[0])

    first = await client.chat.completions.create(model="native", messages=[QUESTION], tools=[WEATHER], extra_body=AGENT)
    # Saved `requires_action` as the pause begins (a moment after the completion ends, at most).
    paused = wait_for(lambda: [m for m in rows.messages() if m.status == "requires_action"])
    [call] = first.choices[0].message.tool_calls
    second = await client.chat.completions.create(
        model="native",
        messages=[
            QUESTION,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "18 °C"},
        ],
        tools=[WEATHER],
        extra_body=AGENT,
    )

    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
    server_calls = first.choices[0].message.model_extra["server_tool_calls"]
    assert [c["name"] for c in server_calls] == ["calculator"]  # ran here, not the client's to run
    assert [m.role for m in paused] == ["assistant"]
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "6*7 is 42, and it is 18 °C in Paris."
    assert second.id == first.id  # the same answer, gone on
    seen = upstream.requests[-1]["messages"]
    assert seen[-1]["role"] == "tool" and seen[-1]["content"] == "18 °C"
    assert any(m["role"] == "tool" and m["content"] == "42" for m in seen)
    answers = [m for m in wait_for(lambda: rows.messages() if rows.saved_answer() else None) if m.role == "assistant"]
    assert [(a.status, a.content) for a in answers] == [("complete", "6*7 is 42, and it is 18 °C in Paris.")]
    assert [(c.tool, c.output) for c in rows.tool_calls(answers[0].id)] == [
        ("calculator", "42"),
        ("get_weather", "18 °C"),
    ]


async def test_a_streamed_pause_ends_with_tool_call_deltas(client, upstream):
    script(upstream)

    stream = await client.chat.completions.create(
        model="native", messages=[QUESTION], tools=[WEATHER], extra_body=AGENT, stream=True
    )
    chunks = [chunk async for chunk in stream]

    calls = [call for chunk in chunks for choice in chunk.choices for call in choice.delta.tool_calls or []]
    assert [call.function.name for call in calls] == ["get_weather"]
    assert calls[0].id.startswith("call_") and calls[0].index == 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


async def test_a_steps_client_calls_go_out_together_and_need_all_their_results(client, upstream):
    paris = {"id": "m1", "name": "get_weather", "arguments": {"city": "Paris"}}
    oslo = {"id": "m2", "name": "get_weather", "arguments": {"city": "Oslo"}}
    upstream.enqueue(Reply(text="", tool_calls=[paris, oslo]), "Paris 18 °C, Oslo 4 °C.")

    async def ask(*messages):
        return await client.chat.completions.create(
            model="native", messages=[QUESTION, *messages], tools=[WEATHER], extra_body=AGENT
        )

    first = await ask()
    calls = first.choices[0].message.tool_calls
    assistant = first.choices[0].message.model_dump(exclude_none=True)
    results = [{"role": "tool", "tool_call_id": call.id, "content": "x"} for call in calls]
    with pytest.raises(openai.BadRequestError) as partial:
        await ask(assistant, results[0])
    second = await ask(assistant, *results)

    assert sorted(json.loads(call.function.arguments)["city"] for call in calls) == ["Oslo", "Paris"]
    assert len({call.id for call in calls}) == 2
    assert partial.value.param == "messages" and "together" in partial.value.message
    assert second.choices[0].message.content == "Paris 18 °C, Oslo 4 °C."


async def test_results_for_an_answer_that_ended_are_a_409(client, served, upstream):
    script(upstream)
    first = await client.chat.completions.create(model="native", messages=[QUESTION], tools=[WEATHER], extra_body=AGENT)
    [call] = first.choices[0].message.tool_calls
    stopped = httpx.post(f"{served[1]}/v1/chat/completions/{first.id}/cancel", timeout=10).json()

    with pytest.raises(openai.ConflictError) as refused:
        await client.chat.completions.create(
            model="native",
            messages=[QUESTION, {"role": "tool", "tool_call_id": call.id, "content": "18 °C"}],
            tools=[WEATHER],
            extra_body=AGENT,
        )

    assert stopped["status"] == "interrupted"
    assert "has ended" in refused.value.message and refused.value.param == "messages"


WEATHER_FUNCTION = {"type": "function", **WEATHER["function"]}  # the Responses API's flat shape


async def test_on_the_responses_api_server_calls_are_mcp_items_and_a_function_output_resumes(client, upstream):
    script(upstream)

    first = await client.responses.create(
        model="native", input=QUESTION["content"], tools=[WEATHER_FUNCTION], extra_body=AGENT
    )
    [ran] = [item for item in first.output if item.type == "mcp_call"]
    [call] = [item for item in first.output if item.type == "function_call"]
    second = await client.responses.create(
        model="native",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18 °C"}],
        tools=[WEATHER_FUNCTION],
        extra_body=AGENT,
    )

    assert first.status == "completed" and first.output_text == ""
    assert (ran.name, ran.server_label, ran.output) == ("calculator", "agent-service", "42")
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Paris"})
    assert second.output_text == "6*7 is 42, and it is 18 °C in Paris."
    assert [item.type for item in second.output] == ["message"]  # only what came after the results


async def test_a_function_tool_named_like_a_service_tool_asks_for_that_tool(client, upstream):
    upstream.enqueue(
        Reply(text="", tool_calls=[{"id": "m1", "name": "calculator", "arguments": {"expression": "2**10"}}]),
        "It is 1024.",
    )

    response = await client.responses.create(
        model="native", input="What is 2**10?", tools=[{"type": "function", "name": "calculator"}], extra_body=AGENT
    )

    assert response.output_text == "It is 1024."
    assert [item.output for item in response.output if item.type == "mcp_call"] == ["1024"]
    offered = [tool["function"]["name"] for tool in upstream.requests[0]["tools"]]
    assert offered == ["calculator"]  # that tool only, the service's own


@pytest.mark.parametrize("kind", [OpenAIChatCompletionsModel, OpenAIResponsesModel], ids=["chat", "responses"])
async def test_the_agents_sdk_runs_its_own_tool_beside_the_services(served, upstream, kind):
    script(upstream)
    ran = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return "18 °C"

    model = kind(model="native", openai_client=openai.AsyncOpenAI(base_url=f"{served[1]}/v1", api_key="unused"))
    agent = Agent(name="Assistant", tools=[get_weather], model=model, model_settings=ModelSettings(extra_body=AGENT))

    result = await Runner.run(agent, QUESTION["content"])

    assert ran == ["Paris"]
    assert result.final_output == "6*7 is 42, and it is 18 °C in Paris."


async def test_a_wait_for_a_person_and_one_for_the_client_in_one_step_pause_the_time_limit_together(
    make_settings, live_server_for, upstream, tools_dir
):
    """The agent's time limit stops while any call of its step waits: an approval decided early
    does not restart it while the client's call still waits for its result."""
    app = create_app(
        make_settings(
            models=agent_models(upstream),
            tools_dir=tools_dir,
            tools_requiring_approval="calculator",
            agent_max_execution_time=1.0,
        )
    )
    both = [
        {"id": "m1", "name": "calculator", "arguments": {"expression": "6*7"}},
        {"id": "m2", "name": "get_weather", "arguments": {"city": "Paris"}},
    ]
    upstream.enqueue(Reply(text="", tool_calls=both), "6*7 is 42, and it is 18 °C in Paris.")
    body = {"model": "native", "tools": [WEATHER], **AGENT}
    async with httpx.AsyncClient(base_url=live_server_for(app), timeout=10) as http:
        first = (await http.post("/v1/chat/completions", json={**body, "messages": [QUESTION]})).json()
        message_id = first["id"].removeprefix("chatcmpl-")
        [pending] = first["choices"][0]["message"]["server_tool_calls"]  # the calculator, waiting for a person
        await asyncio.sleep(1.5)  # longer than the agent may work
        approved = await http.post(f"/chat/messages/{message_id}/tool_calls/{pending['id']}/approve")
        await asyncio.sleep(1.5)  # the client's call still waits: the limit must not run again
        [call] = first["choices"][0]["message"]["tool_calls"]
        result = {"role": "tool", "tool_call_id": call["id"], "content": "18 °C"}
        second = await http.post(
            "/v1/chat/completions", json={**body, "messages": [QUESTION, first["choices"][0]["message"], result]}
        )
    app.state.services.close()

    assert approved.status_code == 200
    assert second.json()["choices"][0]["message"]["content"] == "6*7 is 42, and it is 18 °C in Paris."
    assert second.json()["choices"][0]["finish_reason"] == "stop"
