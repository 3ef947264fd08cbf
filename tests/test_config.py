"""Settings: defaults, environment (JSON for complex values), a YAML file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agent_service.config import ModelConfig, Settings


def test_defaults_are_the_embedded_ones(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)

    assert list(settings.models) == ["local"]
    assert settings.models["local"].provider == "llamacpp"
    assert settings.default_model == "local"
    assert settings.embeddings.provider == "local"
    assert settings.database_url == f"sqlite:///{(tmp_path / 'agent_service.db').resolve()}"
    assert settings.api_keys == []
    assert (settings.host, settings.port) == ("127.0.0.1", 7861)


def test_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(
        "AGENT_SERVICE_MODELS",
        '{"qwen": {"provider": "openai", "base_url": "http://127.0.0.1:8000/v1"}, "glm": {"model": "chatglm3-6b"}}',
    )
    monkeypatch.setenv("AGENT_SERVICE_DEFAULT_MODEL", "glm")
    monkeypatch.setenv("AGENT_SERVICE_API_KEYS", "alpha, beta")
    monkeypatch.setenv("AGENT_SERVICE_EMBEDDINGS__PROVIDER", "openai")
    monkeypatch.setenv("AGENT_SERVICE_DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1/agents")

    settings = Settings()

    assert settings.models["qwen"].base_url == "http://127.0.0.1:8000/v1"
    assert settings.default_model == "glm"
    assert settings.models["glm"].effective_agent_style("glm") == "glm3"
    assert settings.models["qwen"].effective_agent_style("qwen") == "tool_calling"
    assert settings.api_keys == ["alpha", "beta"]
    assert settings.embeddings.provider == "openai"
    assert settings.database_url.startswith("postgresql")


def test_yaml_file_under_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "agent-service.yaml"
    config.write_text(
        "models:\n  vllm:\n    provider: openai\n    base_url: http://127.0.0.1:8000/v1\nport: 9000\nhost: 0.0.0.0\n"
    )
    monkeypatch.setenv("AGENT_SERVICE_CONFIG", str(config))
    monkeypatch.setenv("AGENT_SERVICE_PORT", "9100")

    settings = Settings()

    assert list(settings.models) == ["vllm"]
    assert settings.host == "0.0.0.0"
    assert settings.port == 9100  # the environment wins over the file


def test_unknown_default_model_is_a_clear_error():
    with pytest.raises(ValidationError, match="default_model 'nope' is not one of the configured models"):
        Settings(default_model="nope")


def test_the_token_limit_field_follows_the_server_unless_set():
    openai_api = ModelConfig(provider="openai")
    ollama = ModelConfig(provider="openai", base_url="http://127.0.0.1:11434/v1")
    chosen = ModelConfig(provider="openai", base_url="http://proxy/v1", max_tokens_field="max_completion_tokens")

    assert openai_api.effective_max_tokens_field() == "max_completion_tokens"
    assert ollama.effective_max_tokens_field() == "max_tokens"
    assert chosen.effective_max_tokens_field() == "max_completion_tokens"
