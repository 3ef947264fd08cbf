"""The model registry: one shared client per model, per-request parameters on copies."""

from __future__ import annotations

from agent_service.config import Settings
from agent_service.llm.registry import ModelRegistry


def registry(tmp_path) -> ModelRegistry:
    return ModelRegistry(
        Settings(
            data_dir=tmp_path,
            models={
                "remote": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1"},
                "local": {"provider": "llamacpp"},
            },
        )
    )


def test_remote_clients_are_built_ahead_and_local_weights_are_not(tmp_path):
    models = registry(tmp_path)

    models.connect_remote_models()

    assert set(models._models) == {"remote"}
    assert models.base("remote") is models._models["remote"]


def test_request_parameters_go_on_a_copy_kept_per_parameter_set(tmp_path):
    models = registry(tmp_path)
    base = models.base("remote")

    warm = models.chat_model("remote", temperature=0.2, stop=["END"])
    again = models.chat_model("remote", temperature=0.2, stop=["END"])
    other = models.chat_model("remote", temperature=0.9)

    assert warm is again and warm is not base and other is not warm
    assert (warm.temperature, warm.stop, other.temperature) == (0.2, ["END"], 0.9)
    assert warm.root_async_client is base.root_async_client  # one connection pool
    assert models.chat_model("remote") is base
