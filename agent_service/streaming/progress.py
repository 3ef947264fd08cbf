"""Blocking work with progress reports (indexing), as an async stream of events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

T = TypeVar("T")

Report = Callable[[int, int, str], None]  # (chunks done, chunks in all, current file)


class ProgressEvent(BaseModel):
    """Indexing progress: `done` of `total` chunks embedded, working on `current_file`.

    Chatchat's recreate_vector_store clients read `code`, `msg`, `total`, `finished` and `doc`.
    """

    type: Literal["progress"] = "progress"
    total: int
    done: int
    current_file: str
    code: int = 200
    msg: str = ""
    finished: int = 0
    doc: str = ""

    @classmethod
    def of(cls, done: int, total: int, current_file: str) -> ProgressEvent:
        msg = f"({done} / {total}): {current_file}"
        return cls(total=total, done=done, current_file=current_file, msg=msg, finished=done, doc=current_file)


class ProgressDone(BaseModel):
    type: Literal["done"] = "done"
    results: list[Any]


async def with_progress(work: Callable[[Report], T]) -> AsyncIterator[ProgressEvent | T]:
    """Run `work(report)` in a worker thread; yield a ProgressEvent per report, then its result.

    If the consumer goes away, the work still runs to its end, so storage is
    never left half-written.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[ProgressEvent | None] = asyncio.Queue()

    def report(done: int, total: int, current_file: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, ProgressEvent.of(done, total, current_file))

    future = asyncio.ensure_future(asyncio.to_thread(work, report))
    future.add_done_callback(lambda _: queue.put_nowait(None))
    while (event := await queue.get()) is not None:
        yield event
    yield future.result()
