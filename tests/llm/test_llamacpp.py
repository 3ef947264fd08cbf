"""The embedded model (SmolLM2 via llama.cpp) answers a real streamed request."""

from __future__ import annotations

import pytest

from agent_service.api.app import create_app
from tests.asgi import asgi_client
from tests.sse import parse_frames, text_of, types


def test_llama_cpp_is_built_for_any_x86_64_cpu():
    """The Makefile's build: AVX2 and FMA, nothing newer that a CPU or its kernel may not grant."""
    import platform

    import llama_cpp

    if platform.machine() != "x86_64":
        pytest.skip("the build flags are chosen for x86-64")
    features = dict(
        item.split(" = ")
        for item in llama_cpp.llama_print_system_info().decode().replace("CPU :", "|").split("|")
        if " = " in item
    )
    features = {name.strip(): value.strip() for name, value in features.items()}
    assert features.get("AVX2") == "1" and features.get("FMA") == "1", features
    newer = {
        name for name, value in features.items() if value == "1" and name.startswith(("AVX512", "AMX", "AVX_VNNI"))
    }
    assert not newer, f"built with {sorted(newer)}: a CPU without them dies of SIGILL"


async def test_embedded_model_streams_a_real_answer(make_settings):
    app = create_app(make_settings(models={"local": {"provider": "llamacpp", "context_window": 2048}}))
    async with asgi_client(app, timeout=120) as client:
        response = await client.post(
            "/chat/chat",
            json={"query": "What is 2 plus 2?", "stream": True, "max_tokens": 48, "temperature": 0.0},
        )

    events = parse_frames(response.text)
    assert types(events) == ["metadata", "token", "done"]
    answer = text_of(events)
    assert len(answer.split()) >= 2
    assert "4" in answer
    async with asgi_client(app) as client:
        messages = (await client.get(f"/conversations/{events[0]['conversation_id']}/messages")).json()
    assert messages[-1]["content"] == answer and messages[-1]["model"] == "local"
    app.state.services.close()
