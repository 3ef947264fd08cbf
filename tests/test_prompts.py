"""Prompt templates are files, listed by name and re-read when they change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent_service.api.app import create_app
from agent_service.errors import UnknownPromptError
from agent_service.prompts import PromptStore
from tests.asgi import asgi_client
from tests.conftest import REPO


def test_shipped_llm_chat_prompts():
    store = PromptStore(REPO / "prompts")

    assert {"default", "with_history", "same_language"} <= set(store.names("llm_chat"))
    assert store.get("llm_chat", "default").format(input="hi") == "hi"


def test_unknown_prompt_lists_the_available_ones(tmp_path: Path):
    (tmp_path / "llm_chat").mkdir()
    (tmp_path / "llm_chat" / "mine.jinja2").write_text("{{ input }}")

    with pytest.raises(UnknownPromptError, match="available: mine"):
        PromptStore(tmp_path).get("llm_chat", "theirs")


async def test_an_edited_template_applies_to_the_next_request(tmp_path: Path, make_settings, upstream):
    prompts = tmp_path / "prompts"
    (prompts / "llm_chat").mkdir(parents=True)
    template = prompts / "llm_chat" / "default.jinja2"
    template.write_text("First version: {{ input }}")
    app = create_app(make_settings(prompts_dir=prompts))

    async with asgi_client(app) as client:
        await client.post("/chat/chat", json={"query": "hi", "model_name": "gpt-test"})
        template.write_text("Second version: {{ input }}")
        os.utime(template, ns=(0, template.stat().st_mtime_ns + 1_000_000))
        await client.post("/chat/chat", json={"query": "hi", "model_name": "gpt-test"})

    sent = [request["messages"][-1]["content"] for request in upstream.requests]
    assert sent == ["First version: hi", "Second version: hi"]
    app.state.services.close()
