"""Writers of one knowledge base take turns: within this process (threads), and,
on PostgreSQL, across replicas too (an advisory lock per base, which the
database releases by itself when the holding process dies)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from sqlalchemy import Connection, Engine, text


class WriterLocks(Protocol):
    """The writers' turns of every base: `ProcessWriterLocks` (embedded) or
    `PostgresWriterLocks` (shared by replicas). A thread may take a turn it holds again."""

    def hold(self, name: str) -> AbstractContextManager[None]:
        """Wait for the base's turn and hold it."""

    def try_hold(self, name: str) -> AbstractContextManager[bool]:
        """Hold the base's turn if nobody does now; yields whether it was free."""


class ProcessWriterLocks:
    """One reentrant lock per base, for this process's threads."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    def _lock(self, name: str) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(name, threading.RLock())

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        with self._lock(name):
            yield

    @contextmanager
    def try_hold(self, name: str) -> Iterator[bool]:
        """Hold the base's lock if nobody does now; yields whether it was free."""
        lock = self._lock(name)
        free = lock.acquire(blocking=False)
        try:
            yield free
        finally:
            if free:
                lock.release()


class PostgresWriterLocks(ProcessWriterLocks):
    """The process's lock, then the base's advisory lock in PostgreSQL, held on a
    connection of its own for as long as the outermost `hold` lasts."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self._held = threading.local()  # per thread: name -> (depth, connection)

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        with self._lock(name), self._advisory(name, wait=True):
            yield

    @contextmanager
    def try_hold(self, name: str) -> Iterator[bool]:
        with super().try_hold(name) as free:
            if not free:
                yield False
                return
            with self._advisory(name, wait=False) as got:
                yield got

    @contextmanager
    def _advisory(self, name: str, *, wait: bool) -> Iterator[bool]:
        held: dict[str, tuple[int, Connection]] = self._held.__dict__.setdefault("by_name", {})
        if name in held:  # this thread holds it already (a nested hold)
            depth, connection = held[name]
            held[name] = (depth + 1, connection)
            try:
                yield True
            finally:
                held[name] = (depth, connection)
            return
        connection = self.engine.connect()
        key = {"key": f"agent-service:knowledge-base:{name}"}
        try:
            if wait:
                connection.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), key)
            elif not connection.execute(text("SELECT pg_try_advisory_lock(hashtext(:key))"), key).scalar():
                yield False
                return
            held[name] = (1, connection)
            try:
                yield True
            finally:
                del held[name]
                connection.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), key)
        finally:
            connection.rollback()
            connection.close()
