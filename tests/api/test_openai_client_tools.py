"""/v1/chat/completions as a faithful OpenAI endpoint in its default mode: the client's tools,
tool messages, structured output and sampling fields reach the model as sent, and the model's
tool calls come back for the client to run. Real clients: the openai SDK and LangChain's ChatOpenAI."""

# ruff: noqa: F811 - the fixtures imported from test_openai_chat are parameters here
from __future__ import annotations

import json

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from agent_service.api.app import create_app
from tests.api.test_openai_chat import client, rows, serve, served, stream_chunks  # noqa: F401 - fixtures
from tests.conftest import Rows
from tests.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.http_upstream  # what reaches the upstream over the wire

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CALL = {"id": "call_w1", "name": "get_weather", "arguments": {"city": "Paris, France"}}


async def test_the_models_tool_call_comes_back_to_the_client(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue(Reply(text="", tool_calls=[CALL]))

    completion = await client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER],
        tool_choice="auto",
        parallel_tool_calls=False,
    )

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "call_w1",
        "get_weather",
        {"city": "Paris, France"},
    )
    sent = upstream.requests[-1]
    assert sent["tools"] == [WEATHER] and sent["tool_choice"] == "auto" and sent["parallel_tool_calls"] is False
    [answer] = [m for m in rows.messages() if m.role == "assistant"]
    assert answer.status == "complete" and answer.meta["tool_calls"][0]["function"]["name"] == "get_weather"


async def test_streamed_tool_calls_arrive_as_deltas_a_client_can_assemble(client, upstream: FakeOpenAI):
    second = {"id": "call_w2", "name": "get_weather", "arguments": {"city": "Oslo"}}
    upstream.enqueue(Reply(text="", tool_calls=[CALL, second]))

    chunks = await stream_chunks(client, messages=[{"role": "user", "content": "Paris and Oslo?"}], tools=[WEATHER])

    calls: dict[int, dict] = {}
    for chunk in chunks:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.id or ""
            call["name"] += delta.function.name or ""
            call["arguments"] += delta.function.arguments or ""
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["tool_calls"]
    assert [(c["id"], c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("call_w1", "get_weather", {"city": "Paris, France"}),
        ("call_w2", "get_weather", {"city": "Oslo"}),
    ]


async def test_a_tool_result_goes_back_to_the_model_as_sent(client, upstream: FakeOpenAI):
    upstream.enqueue("It is 18 °C in Paris.")
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_w1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_w1", "content": "18 °C, cloudy"},
    ]

    completion = await client.chat.completions.create(model="gpt-test", messages=history, tools=[WEATHER])

    assert completion.choices[0].message.content == "It is 18 °C in Paris."
    sent = upstream.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == "call_w1"
    assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
    assert sent[2] == {"role": "tool", "tool_call_id": "call_w1", "content": "18 °C, cloudy"}


async def test_an_empty_tools_list_and_an_assistant_message_last_are_accepted(client, upstream: FakeOpenAI):
    upstream.enqueue(" and the sea.")

    completion = await client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "Name a colour"}, {"role": "assistant", "content": "Blue, like the sky"}],
        tools=[],
    )

    assert completion.choices[0].message.content == " and the sea."
    assert upstream.requests[-1]["messages"][-1] == {"role": "assistant", "content": "Blue, like the sky"}
    assert "tools" not in upstream.requests[-1]


async def test_response_format_and_sampling_fields_reach_the_model(client, upstream: FakeOpenAI):
    upstream.enqueue('{"name": "Ada", "born": 1815}')
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "born": {"type": "integer"}},
        "required": ["name", "born"],
        "additionalProperties": False,
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}}

    completion = await client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "Who wrote the first program?"}],
        response_format=response_format,
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=0.25,
        logit_bias={"50256": -100},
        user="user-42",
    )

    assert json.loads(completion.choices[0].message.content) == {"name": "Ada", "born": 1815}
    sent = upstream.requests[-1]
    assert sent["response_format"] == response_format
    assert (sent["seed"], sent["presence_penalty"], sent["frequency_penalty"]) == (7, 0.5, 0.25)
    assert sent["logit_bias"] == {"50256": -100} and sent["user"] == "user-42"


async def test_legacy_functions_are_tools(client, upstream: FakeOpenAI):
    upstream.enqueue(Reply(text="", tool_calls=[CALL]))

    completion = await client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        functions=[WEATHER["function"]],
        function_call={"name": "get_weather"},
    )

    assert completion.choices[0].message.tool_calls[0].function.name == "get_weather"
    sent = upstream.requests[-1]
    assert sent["tools"] == [WEATHER]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


async def test_unsupported_fields_are_refused_by_name(client):
    with pytest.raises(openai.BadRequestError) as refused:
        await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}], logprobs=True, top_logprobs=2
        )

    assert refused.value.code == "unsupported_parameter" and refused.value.param == "logprobs"


class Person(BaseModel):
    name: str
    born: int


async def test_langchain_bind_tools_and_structured_output_work_through_the_service(served, upstream: FakeOpenAI):
    model = ChatOpenAI(model="gpt-test", base_url=f"{served[1]}/v1", api_key="unused", max_retries=0)

    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "18 °C"

    upstream.enqueue(Reply(text="", tool_calls=[CALL]), "It is 18 °C.", '{"name": "Ada", "born": 1815}')
    with_tools = model.bind_tools([get_weather])
    asked = await with_tools.ainvoke("Weather in Paris?")
    [call] = asked.tool_calls
    answered = await with_tools.ainvoke(
        [HumanMessage("Weather in Paris?"), asked, ToolMessage("18 °C", tool_call_id=call["id"])]
    )
    person = await model.with_structured_output(Person, method="json_schema").ainvoke("Who wrote the first program?")

    assert isinstance(asked, AIMessage) and call["name"] == "get_weather" and call["args"] == {"city": "Paris, France"}
    assert answered.content == "It is 18 °C."
    assert person == Person(name="Ada", born=1815)
    assert upstream.requests[-1]["response_format"]["type"] == "json_schema"


async def test_the_embedded_model_answers_in_the_json_schema_asked(make_settings, live_server_for):
    """llama.cpp turns the schema into a grammar: valid JSON of that shape, offline."""
    import jsonschema

    app = create_app(make_settings(models={"local": {"provider": "llamacpp"}}))
    url = live_server_for(app)
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=300) as local:
        completion = await local.chat.completions.create(
            model="local",
            messages=[{"role": "user", "content": "Name a big city and its population."}],
            response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}},
            max_tokens=60,
            seed=3,
        )
    app.state.services.close()

    jsonschema.validate(json.loads(completion.choices[0].message.content), schema)


async def test_store_keeps_a_turn_in_the_lists_and_its_absence_keeps_it_out(client, served, upstream: FakeOpenAI):
    """As at OpenAI: a completion without `store` is not listed (a client's title calls would flood the list)."""
    upstream.enqueue("Unlisted.", "Listed one.", "Listed two.", "Later.")
    quiet = await client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "a title"}])
    kept = [
        await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": f"question {n}"}], store=True
        )
        for n in (1, 2)
    ]
    # A turn without `store` in a conversation that is listed keeps it listed, and still continues it.
    await client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "and then?"}],
        extra_body={"conversation_id": kept[0].conversation_id},
    )

    async with httpx.AsyncClient(base_url=served[1]) as http:
        conversations = (await http.get("/conversations")).json()["items"]
        retrieved = await http.get(f"/v1/chat/completions/{quiet.id}")
    first_page = await client.chat.completions.list(limit=2)
    second_page = await client.chat.completions.list(limit=2, after=first_page.data[-1].id)
    newest = await client.chat.completions.list(order="desc", limit=1)

    assert {c["id"] for c in conversations} == {kept[0].conversation_id, kept[1].conversation_id}
    assert retrieved.status_code == 200  # still there to resume or read by id
    assert [c.id for c in first_page.data] == [kept[0].id, kept[1].id] and first_page.has_more
    assert [c.choices[0].message.content for c in second_page.data] == ["Later."] and not second_page.has_more
    assert newest.data[0].choices[0].message.content == "Later."


async def test_a_setting_stores_v1_turns_by_default(serve, upstream: FakeOpenAI):
    _, url = serve(openai_store_default=True)
    async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0) as local:
        completion = await local.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
        unstored = await local.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "no"}], store=False
        )
        listed = await local.chat.completions.list()

    assert [c.id for c in listed.data] == [completion.id] and unstored.id != completion.id


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content", "should be a valid string or"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages.0.content.0.type",
            "Input should be 'text'",
        ),
        ({"tool_choice": "sometimes"}, "tool_choice", "'none', 'auto' or 'required'"),
        ({"stop": 5}, "stop", "should be a valid string or"),
    ],
)
async def test_a_validation_error_names_the_fields_path_in_plain_words(client, body, param, says):
    request = {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}], **body}

    with pytest.raises(openai.BadRequestError) as refused:
        await client.chat.completions.create(**request)

    message = refused.value.body["message"]
    assert refused.value.param == param and says in message
    assert "Value error" not in message and "list[" not in message and "literal[" not in message.lower()


async def test_a_long_conversation_is_trimmed_to_the_context_oldest_turns_first(
    make_settings, live_server_for, upstream: FakeOpenAI
):
    """Whole turns go: the system message and the last question stay, and no tool result loses its call."""
    small = {"provider": "openai", "base_url": upstream.base_url, "max_retries": 0, "context_window": 600}
    app = create_app(make_settings(models={"small": small}))
    url = live_server_for(app)
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages = [{"role": "system", "content": "Be brief."}]
    for turn in range(20):
        messages += [
            {"role": "user", "content": f"question {turn} " + "word " * 40},
            {"role": "assistant", "content": None, "tool_calls": [{**call, "id": f"call_{turn}"}]},
            {"role": "tool", "tool_call_id": f"call_{turn}", "content": "sunny " * 20},
            {"role": "assistant", "content": f"answer {turn}"},
        ]
    messages.append({"role": "user", "content": "And now?"})
    async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0) as local:
        await local.chat.completions.create(model="small", messages=messages, tools=[WEATHER])

    app.state.services.close()

    sent = upstream.requests[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."} and sent[-1]["content"] == "And now?"
    assert 2 < len(sent) < len(messages)
    assert sent[1]["role"] == "user"  # whole turns: never a tool result without its call
    kept_calls = {c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls", [])}
    assert {m["tool_call_id"] for m in sent if m["role"] == "tool"} == kept_calls
