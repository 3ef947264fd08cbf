"""The embedded model (SmolLM2 via llama.cpp) answers a real streamed request."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from agent_service.api.app import create_app
from tests.asgi import asgi_client
from tests.sse import parse_frames, text_of, types

# What llama.cpp reports compiled in -> the /proc/cpuinfo flag this machine must report for it.
NEEDS_CPU_FLAG = {
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AVX_VNNI": "avx_vnni",
}


def test_llama_cpp_is_built_for_this_cpu_without_amx():
    """The Makefile's build: AVX2 and FMA; AVX-512 only where the kernel reports it; never AMX
    (a process must ask the kernel for AMX state, and where it is refused that is SIGILL)."""
    import llama_cpp

    if platform.machine() != "x86_64":
        pytest.skip("the build flags are chosen for x86-64")
    info = llama_cpp.llama_print_system_info().decode().replace("CPU :", "|")
    built = {
        name.strip() for name, _, value in (item.partition(" = ") for item in info.split("|")) if value.strip() == "1"
    }
    cpu_flags = set(Path("/proc/cpuinfo").read_text().split())

    assert {"AVX2", "FMA"} <= built, built
    assert not {name for name in built if name.startswith("AMX")}, f"built with AMX: {sorted(built)}"
    missing = {name for name, flag in NEEDS_CPU_FLAG.items() if name in built and flag not in cpu_flags}
    assert not missing, f"built with {sorted(missing)}, which this CPU does not report: SIGILL"


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


async def test_native_tool_calling_on_the_embedded_model_answers(make_settings):
    """`agent_style: tool_calling` on the embedded model: its tools go into the chat template
    (it was a 500: the model took no tools)."""
    app = create_app(
        make_settings(models={"local": {"provider": "llamacpp", "agent_style": "tool_calling", "context_window": 2048}})
    )
    async with asgi_client(app, timeout=120) as client:
        response = await client.post(
            "/chat/agent_chat",
            json={"query": "What is 17*23?", "stream": True, "tools": ["calculator"], "max_tokens": 64},
        )

    assert response.status_code == 200
    events = parse_frames(response.text)
    assert events[0]["agent_style"] == "tool_calling"
    assert events[-1]["type"] == "done" and events[-1]["status"] in ("complete", "partial")
    assert "error" not in types(events)
    app.state.services.close()
