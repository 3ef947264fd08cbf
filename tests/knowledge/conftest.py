"""A knowledge-base service on a migrated database in tmp_path, with fake embeddings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_service.config import Settings
from agent_service.db.engine import Database, create_db_engine, migrate
from agent_service.knowledge.service import KnowledgeBaseService


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., KnowledgeBaseService]]:
    """Services over one database and KB root; settings may differ (e.g. the embeddings)."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'agent_service.db'}")
    migrate(engine)
    db = Database(engine)
    services: list[KnowledgeBaseService] = []

    def make(**overrides: Any) -> KnowledgeBaseService:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "kb_root": tmp_path / "knowledge_base",
            "embeddings": {"provider": "fake"},
            "kb_min_similarity": 0.0,  # the fake embeddings have a scale of their own
        }
        services.append(KnowledgeBaseService(Settings(**(values | overrides)), db))
        return services[-1]

    yield make
    for service in services:
        service.close()
    engine.dispose()


@pytest.fixture
def service(make_service: Callable[..., KnowledgeBaseService]) -> KnowledgeBaseService:
    return make_service()
