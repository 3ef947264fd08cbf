"""A migrated SQLite database in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_service.db.engine import Database, create_db_engine, migrate


@pytest.fixture
def database(tmp_path: Path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'service.db'}")
    migrate(engine)
    db = Database(engine)
    yield db
    db.dispose()
