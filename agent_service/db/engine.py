"""The database engine, migrations at start-up, and a way to run database work
without making the event loop wait."""

from __future__ import annotations

import asyncio
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
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlmodel import Session, create_engine

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


# Connections per process to a database server. Enough kept open that a burst of
# turns does not connect and disconnect (a connection costs more than the work it
# carries), few enough that several replicas stay under PostgreSQL's default
# `max_connections` (100): with psycopg the turns use the async pool, and the sync
# pool serves the knowledge bases' and the CLI's work.
POOLS = {"async": {"pool_size": 20, "max_overflow": 10}, "sync": {"pool_size": 5, "max_overflow": 10}}

CHECKPOINT_EVERY = 200  # transactions run on the loop between two WAL checkpoints


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **_server_pool(parsed.get_driver_name()))

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return _sqlite_engine(url, timeout=30, pool_size=10, max_overflow=20)


def _sqlite_engine(url: str, *, timeout: float, pool_size: int, max_overflow: int, checkpoints: bool = True) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": timeout},
        pool_size=pool_size,
        max_overflow=max_overflow,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: no disk sync at commit
        cursor.execute("PRAGMA foreign_keys=ON")
        if not checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # a checkpoint syncs the disk
        cursor.close()

    return engine


def _on_loop_engine(engine: Engine) -> Engine | None:
    """For a SQLite file: one connection for work done on the event loop. It never
    waits for a lock (busy timeout 0) and never checkpoints (that syncs the disk)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return _sqlite_engine(engine.url, timeout=0, pool_size=1, max_overflow=0, checkpoints=False)


def _server_pool(driver: str) -> dict[str, int]:
    # Other drivers have no async mode here: every turn's work is the sync pool's.
    return POOLS["sync"] if driver == "psycopg" else POOLS["async"]


def _async_engine(engine: Engine) -> AsyncEngine | None:
    """For PostgreSQL through psycopg: an engine whose connections wait for the
    server on the event loop (psycopg's async mode)."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return None
    return create_async_engine(engine.url, pool_pre_ping=True, **POOLS["async"])


def _is_locked(exc: OperationalError) -> bool:
    return "locked" in str(exc.orig)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic `upgrade head`), once at a time on PostgreSQL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together take turns: the first migrates, the others find the head.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('agent-service:migrations'))")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """Owns the engine, and runs `work(session=..., **kwargs)` in one short transaction: one way,
    named by where it is called from. `transact` blocks the calling thread (code off the event
    loop), `transact_read` too, for work that only reads; `await atransact` is for code on the
    event loop, which it never makes wait (LangChain's `a` prefix: `invoke`, `ainvoke`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time, and a writer that finds the file
        # locked sleeps in growing steps (up to 100 ms). Taking turns in-process
        # hands the database straight from one short transaction to the next.
        self._turns = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        self._on_loop = _on_loop_engine(engine)
        self._since_checkpoint = 0
        self._async: AsyncEngine | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def transact(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        with self._turns, self.session() as session:
            return work(session=session, **kwargs)

    def transact_read(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        """Like `transact`, for work that only reads: WAL lets readers run beside the writer."""
        with self.session() as session:
            return work(session=session, **kwargs)

    async def atransact(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        """`work(session=..., **kwargs)`, one short transaction, without making the loop wait.

        On SQLite it runs right here, on the loop, when it can run at once: in WAL
        mode with synchronous=NORMAL a short transaction is a fraction of a
        millisecond of CPU and no disk sync. A worker thread costs more: under
        load it waits for the GIL behind every busy stream (at 64 streams saving
        the user's message took hundreds of milliseconds, and a third more CPU).
        When another writer holds the database (one of our threads, or another
        process), the work goes to a worker thread and waits there.

        On PostgreSQL through psycopg the work also runs on the loop, in a
        greenlet (SQLAlchemy's `run_sync`): each round trip to the server is
        awaited, so no thread hop and no fight for the GIL per statement.
        Other PostgreSQL drivers get a worker thread.
        """
        if (engine := self._loop_engine()) is not None:
            async with AsyncSession(engine, sync_session_class=Session, expire_on_commit=False) as session:
                return await session.run_sync(lambda sync_session: work(session=sync_session, **kwargs))
        if self._on_loop is not None and self._turns.acquire(blocking=False):
            try:
                with Session(self._on_loop, expire_on_commit=False) as session:
                    result = work(session=session, **kwargs)
                self._checkpoint_now_and_then()
                return result
            except OperationalError as exc:
                if not _is_locked(exc):
                    raise
                # Another process is writing; the transaction rolled back. Wait in a thread.
            finally:
                self._turns.release()
        return await anyio.to_thread.run_sync(lambda: self.transact(work, **kwargs))

    def _loop_engine(self) -> AsyncEngine | None:
        """The async engine of the running loop: its connections belong to the loop that opened them."""
        if self._async_loop is not asyncio.get_running_loop():
            if self._async is not None or self.engine.dialect.name != "postgresql":
                return None  # made for another loop (a test's); threads serve this one
            self._async, self._async_loop = _async_engine(self.engine), asyncio.get_running_loop()
        return self._async

    async def aclose(self) -> None:
        """Close the async engine's connections, on the loop they belong to."""
        if self._async is not None and self._async_loop is asyncio.get_running_loop():
            await self._async.dispose()

    def _checkpoint_now_and_then(self) -> None:
        """Copy the WAL back into the database file from a thread, off the loop."""
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY:
            self._since_checkpoint = 0
            threading.Thread(target=self.checkpoint, name="sqlite-checkpoint", daemon=True).start()

    def checkpoint(self) -> None:
        # PASSIVE: copies what it can without waiting for, or blocking, readers and writers.
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def dispose(self) -> None:
        self.engine.dispose()
        if self._on_loop is not None:
            self._on_loop.dispose()
