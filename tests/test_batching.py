"""Concurrent calls served by one batched call."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agent_service.batching import Batched


class Doubler:
    """Doubles numbers in batches; a negative number is refused. Can be held mid-batch."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()

    def __call__(self, items: list[int]) -> list[int | Exception]:
        self.batches.append(items)
        self.started.set()
        self.release.wait(5)
        return [ValueError(f"{n} is negative") if n < 0 else 2 * n for n in items]


async def hold_a_first_batch(doubler: Doubler, batched: Batched) -> asyncio.Task:
    """Start a call whose batch (of one) runs until `doubler.release` is set."""
    doubler.release.clear()
    first = asyncio.create_task(batched(1))
    await asyncio.to_thread(doubler.started.wait, 5)
    return first


async def test_a_call_alone_runs_at_once_as_a_batch_of_one():
    doubler = Doubler()
    assert await Batched(doubler)(21) == 42
    assert doubler.batches == [[21]]


async def test_calls_made_while_a_batch_runs_form_the_next_batch():
    doubler = Doubler()
    batched = Batched(doubler)
    first = await hold_a_first_batch(doubler, batched)
    later = [asyncio.create_task(batched(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0.05)
    doubler.release.set()

    assert await first == 2 and await asyncio.gather(*later) == [4, 6, 8]
    assert doubler.batches == [[1], [2, 3, 4]]


async def test_an_error_reaches_its_own_caller_only():
    doubler = Doubler()
    batched = Batched(doubler)
    first = await hold_a_first_batch(doubler, batched)
    good, bad = asyncio.create_task(batched(5)), asyncio.create_task(batched(-1))
    await asyncio.sleep(0.05)
    doubler.release.set()

    assert await first == 2 and await good == 10
    with pytest.raises(ValueError, match="-1 is negative"):
        await bad


async def test_a_cancelled_call_leaves_its_batch_and_the_others_are_served():
    doubler = Doubler()
    batched = Batched(doubler)
    first = await hold_a_first_batch(doubler, batched)
    gone, kept = asyncio.create_task(batched(7)), asyncio.create_task(batched(8))
    await asyncio.sleep(0.05)
    gone.cancel()
    doubler.release.set()

    assert await first == 2 and await kept == 16
    assert gone.cancelled() and doubler.batches == [[1], [8]]


async def test_a_failing_batch_fails_every_call_in_it():
    def broken(items: list[int]) -> list[int]:
        raise ConnectionError("embeddings server unreachable")

    batched = Batched(broken)
    results = await asyncio.gather(batched(1), batched(2), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]


def test_each_event_loop_has_its_own_queue():
    doubler = Doubler()
    batched = Batched(doubler)
    assert asyncio.run(batched(1)) == 2
    assert asyncio.run(batched(2)) == 4  # a new loop: not stuck behind the old loop's runner
