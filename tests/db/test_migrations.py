"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from agent_service.db import models  # noqa: F401 - registers the tables
from agent_service.db.engine import create_db_engine, migrate
from agent_service.knowledge import models as knowledge_models  # noqa: F401


def test_migrated_schema_matches_the_models(tmp_path: Path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    migrate(engine)

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    assert differences == []
    assert {"conversation", "message", "tool_call", "knowledge_base", "knowledge_file"} <= set(
        inspect(engine).get_table_names()
    )


def test_migrating_twice_is_harmless(tmp_path: Path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    migrate(engine)
    migrate(engine)

    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is not None
