"""`/models`: the configured chat models."""

from __future__ import annotations

from fastapi import APIRouter

from agent_service.api.deps import ServicesDep

router = APIRouter(tags=["models"])


@router.get("/models")
def list_models(services: ServicesDep) -> dict[str, object]:
    registry = services.models
    models = [
        {
            "name": name,
            "provider": config.provider,
            "model": embedded.name if (embedded := registry.embedded(name)) else config.model or name,
            # What answers, for people: the embedded model's own name, else the upstream's model id.
            "title": embedded.title if embedded else config.model or name,
            # The embedded model: a small model running offline in this process's worker.
            "embedded": {"parameters": embedded.parameters, "licence": embedded.licence, "offline": True}
            if embedded
            else None,
            "base_url": config.base_url,
            "agent_style": config.effective_agent_style(name),
            "context_window": config.context_window,
            "default": name == registry.default_name,
        }
        for name, config in registry.configs.items()
    ]
    return {"models": models, "default": registry.default_name}
