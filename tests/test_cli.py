"""`agent-service chat`: a terminal chat that streams and keeps the conversation."""

from __future__ import annotations

import pytest

from agent_service import cli
from tests.conftest import Rows
from tests.fake_openai import FakeOpenAI


def test_chat_streams_replies_and_keeps_the_conversation(
    live_server: str, upstream: FakeOpenAI, rows: Rows, monkeypatch: pytest.MonkeyPatch, capsys
):
    upstream.enqueue("Hello Ada.", "You are Ada.")
    typed = iter(["My name is Ada.", "Who am I?", "/exit"])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(typed))

    cli.main(["chat", "--url", live_server, "--model", "gpt-test", "--history-len", "3"])

    out = capsys.readouterr().out
    assert "assistant> Hello Ada." in out and "assistant> You are Ada." in out
    assert len({m.conversation_id for m in rows.messages()}) == 1
    sent = [m["content"] for m in upstream.requests[-1]["messages"]]
    assert sent == ["My name is Ada.", "Hello Ada.", "Who am I?"]


def test_chat_shows_errors_and_goes_on(live_server: str, upstream: FakeOpenAI, monkeypatch, capsys):
    typed = iter(["hi"])

    def next_line(_prompt: str = "") -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", next_line)

    cli.main(["chat", "--url", live_server, "--model", "no-such-model"])

    assert "[error 400] unknown model_name 'no-such-model'" in capsys.readouterr().out


def test_chat_names_the_model_that_answers(make_settings, live_server_for, monkeypatch, capsys):
    from agent_service.api.app import create_app

    app = create_app(
        make_settings(models={"local": {"provider": "llamacpp"}, "scripted": {"provider": "fake", "model": "demo-7b"}})
    )
    url = live_server_for(app)
    monkeypatch.setattr("builtins.input", lambda _prompt="": "/exit")

    cli.main(["chat", "--url", url])
    embedded = capsys.readouterr().err.splitlines()[0]
    cli.main(["chat", "--url", url, "--model", "scripted"])
    remote = capsys.readouterr().err.splitlines()[0]
    app.state.services.close()

    assert embedded.startswith("model: local · SmolLM2-135M-Instruct — a small offline model (135M parameters)")
    assert "Connecting a real model" in embedded
    assert remote == "model: scripted · demo-7b"
