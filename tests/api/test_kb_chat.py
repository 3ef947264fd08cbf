"""/chat/knowledge_base_chat: sources first, then an answer that cites them."""

from __future__ import annotations

import httpx
import pytest

from tests.asgi import asgi_client
from tests.conftest import Rows
from tests.fake_openai import FakeOpenAI
from tests.sse import parse_frames, text_of, types

DOCS = [
    ("pumps.md", b"# Pumps\n\nError E-7731 means the pump lost pressure. Check the valve first.\n"),
    ("filters.md", b"# Filters\n\nRinse the filter with warm water every month.\n"),
]


async def knowledge_base(client: httpx.AsyncClient) -> None:
    await client.post("/knowledge_bases", json={"name": "appliances", "description": "Manuals"})
    await client.post("/knowledge_bases/appliances/files", files=[("files", doc) for doc in DOCS])


async def kb_chat(client: httpx.AsyncClient, **body) -> httpx.Response:
    defaults = {"knowledge_base_name": "appliances", "model_name": "gpt-test", "stream": True}
    return await client.post("/chat/knowledge_base_chat", json={**defaults, **body})


async def test_stream_has_sources_then_a_cited_answer(client, upstream: FakeOpenAI, rows: Rows):
    await knowledge_base(client)
    upstream.enqueue("E-7731 means lost pressure [1].")

    events = parse_frames((await kb_chat(client, query="What does E-7731 mean?", top_k=2)).text)

    assert types(events) == ["metadata", "docs", "token", "done"]
    docs = events[1]
    first = docs["sources"][0]
    assert first["index"] == 1 and first["file"] == "pumps.md" and 0 < first["score"] <= 1
    assert "E-7731" in first["snippet"]
    assert first["url"].endswith("/knowledge_bases/appliances/files/pumps.md")
    assert docs["docs"][0].startswith("出处 [1] [pumps.md](")
    assert events[-1]["docs"] == docs["docs"]  # Chatchat's client keeps the docs of the last event
    assert all(e["answer"] == e["text"] for e in events if e["type"] == "token")

    prompt = upstream.requests[-1]["messages"][-1]["content"]
    assert "[1] (pumps.md)\n# Pumps" in prompt or "[1] (pumps.md)" in prompt
    assert "Question: What does E-7731 mean?" in prompt

    answer = rows.messages()[-1]
    assert answer.content == "E-7731 means lost pressure [1]."
    assert answer.meta["sources"][0]["file"] == "pumps.md"
    assert rows.conversations()[0].chat_type == "knowledge_base_chat"

    download = await client.get(first["url"].replace("http://testserver", ""))
    assert download.content == DOCS[0][1]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("Who won the 1998 world cup?", "do not cover this question"),
        ("谁赢得了1998年世界杯？", "没有涉及这个问题"),
        ("Qui a gagné la Coupe du monde 1998 ?", "ne traitent pas de cette question"),
    ],
)
async def test_nothing_relevant_is_declined_in_the_questions_language_without_asking_the_model(
    client, upstream: FakeOpenAI, rows: Rows, query, says
):
    await knowledge_base(client)
    upstream.enqueue("Croatia won it.")  # what a model asked anyway might say

    events = parse_frames((await kb_chat(client, query=query)).text)

    assert types(events) == ["metadata", "docs", "token", "done"]
    assert events[1]["sources"] == [] and "未找到相关文档" in events[1]["docs"][0]
    assert says in text_of(events) and "Croatia" not in text_of(events)
    assert upstream.requests == []
    answer = rows.messages()[-1]
    assert (answer.status, answer.content) == ("complete", text_of(events))


# What Langchain-Chatchat 0.2's client (ApiRequest.knowledge_base_chat) sends: every key, its defaults.
CHATCHAT_CLIENT_BODY = {
    "query": "How often should the filter be cleaned?",
    "knowledge_base_name": "appliances",
    "top_k": 3,
    "score_threshold": 1.0,
    "history": [],
    "stream": True,
    "model_name": "gpt-test",
    "temperature": 0.7,
    "max_tokens": None,
    "prompt_name": "default",
}


async def test_a_chatchat_client_with_its_defaults_gets_the_sources(client, upstream: FakeOpenAI):
    await knowledge_base(client)
    upstream.enqueue("Rinse it every month [1].", "No idea.")

    events = parse_frames((await client.post("/chat/knowledge_base_chat", json=CHATCHAT_CLIENT_BODY)).text)
    # Chatchat's score_threshold is a distance: 0 accepts only a perfect match.
    strict = parse_frames(
        (await client.post("/chat/knowledge_base_chat", json=CHATCHAT_CLIENT_BODY | {"score_threshold": 0.0})).text
    )

    assert events[-1]["docs"][0].startswith("出处 [1] [filters.md](")
    assert "Rinse the filter" in events[-1]["docs"][0]
    assert "未找到相关文档" in strict[-1]["docs"][0]


async def test_a_chatchat_score_threshold_over_two_is_refused(client, upstream: FakeOpenAI):
    await knowledge_base(client)

    response = await client.post("/chat/knowledge_base_chat", json=CHATCHAT_CLIENT_BODY | {"score_threshold": 2.5})

    assert response.status_code == 422


async def test_without_a_matching_term_or_a_similar_chunk_nothing_is_found(make_settings, upstream: FakeOpenAI):
    from agent_service.api.app import create_app

    app = create_app(make_settings(kb_min_similarity=0.99))
    async with asgi_client(app) as client:
        await knowledge_base(client)
        events = parse_frames((await kb_chat(client, query="Who won the 1998 world cup?")).text)
        found = parse_frames((await kb_chat(client, query="What does E-7731 mean?")).text)

    assert events[1]["sources"] == [] and "do not cover this question" in text_of(events)
    assert len(upstream.requests) == 1  # only the question with a source went to the model
    assert found[1]["sources"][0]["file"] == "pumps.md"  # a matching term always counts
    app.state.services.close()


async def test_non_stream_and_history(client, upstream: FakeOpenAI):
    await knowledge_base(client)
    upstream.enqueue("Every month [1].", "Warm water [1].")
    first = (await kb_chat(client, query="How often do I rinse the filter?", stream=False)).json()

    second = await kb_chat(
        client, query="With what?", stream=False, conversation_id=first["conversation_id"], history_len=1
    )

    assert first["answer"] == "Every month [1]." and first["sources"][0]["file"] == "filters.md"
    sent = [m["content"] for m in upstream.requests[-1]["messages"]]
    assert sent[:2] == ["How often do I rinse the filter?", "Every month [1]."]
    assert second.json()["answer"] == "Warm water [1]."


async def test_a_missing_knowledge_base_is_a_404_and_writes_nothing(client, upstream: FakeOpenAI, rows: Rows):
    response = await kb_chat(client, query="hi", knowledge_base_name="nope")

    assert response.status_code == 404 and "nope" in response.json()["msg"]
    assert rows.messages() == [] and upstream.requests == []
