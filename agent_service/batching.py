"""Concurrent calls served by one batched call.

A call made while no batch is running starts one at once; calls made while
a batch runs wait and form the next batch. Alone, a call costs what it
always did; under load, one batched call (one embeddings request, one vector
query) serves many, and a single worker thread does the work instead of
dozens competing for the GIL.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio.to_thread

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Queue(Generic[T, R]):
    waiting: list[tuple[T, asyncio.Future[R]]] = field(default_factory=list)
    runner: asyncio.Task[None] | None = None


class Batched(Generic[T, R]):
    """`await batched(item)`: `run_batch(items)` runs in a worker thread and returns, for
    each item in order, its result or the exception that call raises."""

    def __init__(self, run_batch: Callable[[list[T]], Sequence[R | Exception]]) -> None:
        self._run_batch = run_batch
        # One queue per event loop: futures and tasks belong to the loop that made them.
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[T, R]] = weakref.WeakKeyDictionary()

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, _Queue())
        future: asyncio.Future[R] = loop.create_future()
        queue.waiting.append((item, future))
        if queue.runner is None or queue.runner.done():
            queue.runner = loop.create_task(self._run(queue))
        return await future

    async def _run(self, queue: _Queue[T, R]) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while queue.waiting:
                batch = [(item, future) for item, future in queue.waiting if not future.done()]  # skip cancelled
                queue.waiting = []
                if not batch:
                    continue
                try:
                    results = await anyio.to_thread.run_sync(self._run_batch, [item for item, _ in batch])
                except Exception as exc:  # the batch itself failed: every call in it fails with it
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            # Stopped (the loop is shutting down): no caller is left waiting for an answer.
            for _, future in batch + queue.waiting:
                future.cancel()
