"""/chat/chat through HTTP: the real ChatOpenAI client against a fake upstream."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_client_conversation_ids import chatchat_body
from tests.asgi import asgi_client
from tests.conftest import Rows, wait_for
from tests.fake_openai import FakeOpenAI, Reply
from tests.sse import parse_frames, text_of, types


async def chat(client: httpx.AsyncClient, **body) -> httpx.Response:
    return await client.post("/chat/chat", json={"model_name": "gpt-test", "stream": True, **body})


async def test_stream_sends_metadata_tokens_done_and_saves_both_messages(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue("Paris is the capital of France.")

    response = await chat(client, query="What is the capital of France?")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_frames(response.text)
    assert types(events) == ["metadata", "token", "done"]
    assert text_of(events) == "Paris is the capital of France."
    message_id = events[0]["message_id"]
    conversation_id = events[0]["conversation_id"]
    # Chatchat's web client reads `text` and `message_id` from every token event.
    for event in events:
        assert event["message_id"] == message_id
        assert event["conversation_id"] == conversation_id
    assert all("text" in e for e in events if e["type"] == "token")
    assert events[-1]["finish_reason"] == "stop"
    assert events[-1]["usage"]["total_tokens"] > 0

    user, answer = rows.messages(conversation_id)
    assert (user.role, user.content, user.status) == ("user", "What is the capital of France?", "complete")
    assert (answer.id, answer.role, answer.status) == (message_id, "assistant", "complete")
    assert answer.content == "Paris is the capital of France."
    assert answer.model == "gpt-test"
    assert answer.meta["usage"]["total_tokens"] > 0
    assert user.meta["request"]["query"] == "What is the capital of France?"
    assert rows.conversations()[0].title == "What is the capital of France?"


async def test_user_message_is_saved_before_the_model_is_called(client, upstream: FakeOpenAI, rows: Rows):
    seen_by_upstream: list[list[tuple[str, str]]] = []
    upstream.on_request = lambda _: seen_by_upstream.append([(m.role, m.status) for m in rows.messages()])

    await chat(client, query="hello")

    assert seen_by_upstream == [[("user", "complete"), ("assistant", "streaming")]]


async def test_non_stream_returns_one_json_object(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue("Forty-two.")

    response = await chat(client, query="The answer?", stream=False)

    assert response.status_code == 200
    body = response.json()
    assert body["text"] == "Forty-two."
    assert body["status"] == "complete"
    assert [m.id for m in rows.messages(body["conversation_id"])][1] == body["message_id"]


async def test_second_turn_sends_the_first_turn_from_the_database(client, upstream: FakeOpenAI):
    upstream.enqueue("Nice to meet you, Ada.", "Your name is Ada.")
    first = parse_frames((await chat(client, query="My name is Ada.")).text)
    conversation_id = first[0]["conversation_id"]

    second = parse_frames(
        (await chat(client, query="What is my name?", conversation_id=conversation_id, history_len=3)).text
    )

    assert text_of(second) == "Your name is Ada."
    assert second[0]["conversation_id"] == conversation_id
    sent = [(m["role"], m["content"]) for m in upstream.requests[-1]["messages"]]
    assert sent == [
        ("user", "My name is Ada."),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "What is my name?"),
    ]


async def test_history_len_counts_turns_from_the_newest(client, upstream: FakeOpenAI):
    conversation_id = None
    for n in range(3):
        upstream.enqueue(f"answer {n}")
        events = parse_frames((await chat(client, query=f"question {n}", conversation_id=conversation_id)).text)
        conversation_id = events[0]["conversation_id"]

    await chat(client, query="question 3", conversation_id=conversation_id, history_len=1)

    sent = [m["content"] for m in upstream.requests[-1]["messages"]]
    assert sent == ["question 2", "answer 2", "question 3"]


async def test_without_history_len_no_stored_history_is_sent(client, upstream: FakeOpenAI):
    first = parse_frames((await chat(client, query="one")).text)

    await chat(client, query="two", conversation_id=first[0]["conversation_id"])

    assert [m["content"] for m in upstream.requests[-1]["messages"]] == ["two"]


async def test_explicit_history_wins_over_the_database(client, upstream: FakeOpenAI):
    first = parse_frames((await chat(client, query="stored question")).text)

    await chat(
        client,
        query="current question",
        conversation_id=first[0]["conversation_id"],
        history_len=5,
        history=[{"role": "user", "content": "given question"}, {"role": "assistant", "content": "given answer"}],
    )

    sent = [(m["role"], m["content"]) for m in upstream.requests[-1]["messages"]]
    assert sent == [("user", "given question"), ("assistant", "given answer"), ("user", "current question")]


async def test_history_is_trimmed_to_the_token_budget_oldest_first(make_settings, upstream: FakeOpenAI):
    from agent_service.api.app import create_app

    settings = make_settings(
        models={"small": {"provider": "openai", "base_url": upstream.base_url, "context_window": 200}}
    )
    app = create_app(settings)
    history = []
    for n in range(10):
        history += [
            {"role": "user", "content": f"question {n} " + "word " * 20},
            {"role": "assistant", "content": f"answer {n}"},
        ]
    async with asgi_client(app) as client:
        response = await client.post("/chat/chat", json={"query": "now", "history": history, "max_tokens": 50})

    assert response.status_code == 200
    sent = [m["content"] for m in upstream.requests[-1]["messages"]]
    assert sent[-1] == "now"
    assert 1 < len(sent) < 21  # some history kept, the oldest dropped
    assert sent[-2] == "answer 9"
    assert not any(content.startswith("question 0") for content in sent)
    assert sent[0].startswith("question")  # history starts on a question
    app.state.services.close()


async def test_with_history_prompt_writes_the_history_into_the_prompt(client, upstream: FakeOpenAI):
    await chat(
        client,
        query="And now?",
        prompt_name="with_history",
        history=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
    )

    messages = upstream.requests[-1]["messages"]
    assert len(messages) == 1
    assert "Human: Hi\nAI: Hello!\nHuman: And now?" in messages[0]["content"]


async def test_parameters_reach_the_upstream(client, upstream: FakeOpenAI):
    await chat(client, query="hi", temperature=0.2, max_tokens=33)
    await chat(client, query="hi", max_tokens=0)

    limited, unlimited = upstream.requests[-2:]
    assert limited["temperature"] == 0.2
    # A server other than OpenAI's API gets the field every OpenAI-compatible server reads.
    assert limited["max_tokens"] == 33 and "max_completion_tokens" not in limited
    assert "max_tokens" not in unlimited and "max_completion_tokens" not in unlimited
    assert unlimited["temperature"] == 0.7  # Chatchat's default
    assert limited["stream"] is True


@pytest.mark.http_upstream  # the request on the wire
async def test_the_token_limit_field_can_be_chosen_per_model(make_settings, upstream: FakeOpenAI):
    from agent_service.api.app import create_app

    reasoning = {"provider": "openai", "base_url": upstream.base_url, "max_tokens_field": "max_completion_tokens"}
    app = create_app(make_settings(models={"reasoning": reasoning}))
    async with asgi_client(app) as client:
        await chat(client, query="hi", model_name="reasoning", max_tokens=33)
    app.state.services.close()

    sent = upstream.requests[-1]
    assert sent["max_completion_tokens"] == 33 and "max_tokens" not in sent


async def test_an_answer_cut_by_max_tokens_is_saved_as_partial(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue(Reply(text="A long answer that", finish_reason="length"))

    events = parse_frames((await chat(client, query="Tell me everything", max_tokens=4)).text)

    assert events[-1]["finish_reason"] == "length"
    assert rows.messages()[-1].status == "partial"


async def test_upstream_failure_mid_stream_sends_error_and_keeps_partial_text(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue(Reply(text="one two three four five", fail_after=2))

    response = await chat(client, query="count")

    events = parse_frames(response.text)
    assert types(events) == ["metadata", "token", "error", "done"]
    error = events[-2]
    assert error["code"] == 500 and error["msg"] == error["message"] and error["message"]
    assert "sk-test" not in response.text
    assert events[-1]["status"] == "error"
    user, answer = rows.messages()
    assert user.status == "complete"
    assert (answer.status, answer.content) == ("error", "one two")
    assert answer.meta["error"] == error["message"]


async def test_upstream_error_before_any_token(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue(Reply(status=500))

    events = parse_frames((await chat(client, query="hello")).text)

    assert types(events) == ["metadata", "error", "done"]
    assert "500" in events[1]["message"]
    answer = rows.messages()[-1]
    assert (answer.status, answer.content) == ("error", "")


@pytest.mark.http_upstream  # the request on the wire
async def test_a_failed_request_is_retried_before_the_first_token(make_settings, upstream: FakeOpenAI):
    from agent_service.api.app import create_app

    # The default configuration: the openai SDK's two retries.
    app = create_app(make_settings(models={"remote": {"provider": "openai", "base_url": upstream.base_url}}))
    upstream.enqueue(Reply(status=503), Reply(status=429), "Third time lucky.")
    async with asgi_client(app) as client:
        events = parse_frames((await chat(client, query="hello", model_name="remote")).text)
    app.state.services.close()

    assert types(events) == ["metadata", "token", "done"] and text_of(events) == "Third time lucky."
    assert len(upstream.requests) == 3


async def test_upstream_error_without_stream_is_a_502_with_the_message(client, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue(Reply(status=503))

    response = await chat(client, query="hello", stream=False)

    assert response.status_code == 502
    assert response.json()["code"] == 502 and "503" in response.json()["msg"]
    assert [m.status for m in rows.messages()] == ["complete", "error"]


def test_client_disconnect_mid_stream_keeps_the_partial_text(live_server: str, upstream: FakeOpenAI, rows: Rows):
    upstream.enqueue(Reply(text=" ".join(f"w{n}" for n in range(200)), delay=0.05))
    body = {"query": "stream slowly", "model_name": "gpt-test", "stream": True}

    with (
        httpx.Client(base_url=live_server, timeout=10) as http,
        http.stream("POST", "/chat/chat", json=body) as response,
    ):
        tokens = 0
        for line in response.iter_lines():
            if '"type":"token"' in line:
                tokens += 1
            if tokens == 3:
                break  # leaving the block closes the connection mid-stream

    answer = wait_for(rows.saved_answer)
    assert answer.status == "interrupted"
    assert answer.meta["reason"] == "client_disconnected"
    assert answer.content.startswith("w0 w1 w2")
    assert len(answer.content.split()) < 200


async def test_feedback_is_stored_on_the_answer(client, upstream: FakeOpenAI, rows: Rows):
    events = parse_frames((await chat(client, query="hi")).text)
    message_id = events[0]["message_id"]

    response = await client.post("/chat/feedback", json={"message_id": message_id, "score": 90, "reason": "clear"})

    assert response.status_code == 200 and response.json()["code"] == 200
    answer = rows.messages()[-1]
    assert (answer.feedback_score, answer.feedback_reason) == (90, "clear")


async def test_feedback_errors(client):
    unknown = await client.post("/chat/feedback", json={"message_id": "0" * 32, "score": 50})
    out_of_range = await client.post("/chat/feedback", json={"message_id": "0" * 32, "score": 101})

    assert unknown.status_code == 404 and "not found" in unknown.json()["msg"]
    assert out_of_range.status_code == 422 and "score" in out_of_range.json()["msg"]


async def test_chatchat_client_body_with_nulls_uses_defaults(client, upstream: FakeOpenAI):
    body = chatchat_body("hi", conversation_id=None)  # a first message, from a client that sends null
    events = parse_frames((await client.post("/chat/chat", json=body)).text)

    assert types(events) == ["metadata", "token", "done"]
