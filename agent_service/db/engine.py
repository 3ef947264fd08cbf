"""The database engine, migrations at start-up, and a way to run blocking
database work off the event loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=10,
        max_overflow=20,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic `upgrade head`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """Owns the engine; runs blocking session work in a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time, and a writer that finds the file
        # locked sleeps in growing steps (up to 100 ms). Taking turns in-process
        # hands the database straight from one short transaction to the next.
        self._turns = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def call(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        with self._turns, self.session() as session:
            return work(session=session, **kwargs)

    def read(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        """Like `call`, for work that only reads: WAL lets readers run beside the writer."""
        with self.session() as session:
            return work(session=session, **kwargs)

    async def run(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        """`work(session=..., **kwargs)` in a worker thread, so the loop keeps streaming."""
        return await anyio.to_thread.run_sync(lambda: self.call(work, **kwargs))
