"""The stored history a turn sends (through HTTP), and its trimming."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage

from agent_service.memory import fit_history
from tests.fake_openai import FakeOpenAI, Reply


async def test_stored_history_is_the_last_turns_with_text_starting_on_a_question(client, upstream: FakeOpenAI):
    conversation_id = None
    for query, reply in [("one", Reply("first")), ("two", Reply(status=500)), ("three", Reply("third"))]:
        upstream.enqueue(reply)
        body = {"query": query, "model_name": "gpt-test", "conversation_id": conversation_id}
        conversation_id = (await client.post("/chat/chat", json=body)).json()["conversation_id"]

    body = {"query": "now", "model_name": "gpt-test", "conversation_id": conversation_id, "history_len": 2}
    await client.post("/chat/chat", json=body)

    # The last 4 messages with text are first, two, three, third (the failed answer has none);
    # history starts on a question, so "first" goes too.
    assert [m["content"] for m in upstream.requests[-1]["messages"]] == ["two", "three", "third", "now"]


def test_fit_history_drops_the_oldest_first():
    history = [HumanMessage("old " * 200), AIMessage("old answer " * 100), HumanMessage("new"), AIMessage("newer")]

    assert [m.text for m in fit_history(history, 50)] == ["new", "newer"]
    assert fit_history(history, 0) == []
    assert fit_history(history, 100_000) == history
