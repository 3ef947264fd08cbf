"""The 0002 migration builds exactly the tables the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from agent_service.db.engine import create_db_engine, migrate
from agent_service.knowledge import models  # noqa: F401  (registers the tables)


def test_migrated_schema_matches_the_models(tmp_path: Path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)

    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        tables = set(inspect(connection).get_table_names())

    assert {"knowledge_base", "knowledge_file"} <= tables
    assert [entry for entry in diff if "knowledge" in str(entry)] == []
    engine.dispose()
