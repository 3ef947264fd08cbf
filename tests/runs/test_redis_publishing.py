"""How a replica publishes its answers' events to Redis, against a real Redis:
each round's news is one stream entry per answer, a follower on another
replica gets exactly the events after any `seq` (also from inside an entry),
the followers of one replica share one Redis connection, and closing
publishes what is left and returns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from agent_service.db.engine import Database
from agent_service.runs.redis_answers import RedisAnswers, RemoteAnswer, RemoteTurn
from agent_service.runs.turn import Turn
from agent_service.streaming.events import DoneEvent, MetadataEvent, StreamEvent, TokenEvent
from tests.servers import redis_bin, redis_server

pytestmark = pytest.mark.skipif(redis_bin() is None, reason="Redis is needed (make test installs it where it can)")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


class answer:  # noqa: N801 - read as a function: answer(turn, tokens=..., gap=...)
    """A turn's stream (`runs.turn.TurnStream`) of `tokens` tokens, `gap` seconds apart."""

    approvals = client_calls = outcome = None
    waiting = False

    def __init__(self, turn: Turn, tokens: int, gap: float) -> None:
        self.turn, self.tokens, self.gap = turn, tokens, gap

    async def events(self) -> AsyncIterator[StreamEvent]:
        yield MetadataEvent(**self.turn.ids, model="m")
        for n in range(self.tokens):
            await asyncio.sleep(self.gap)
            yield TokenEvent(**self.turn.ids, text=f"t{n} ")
        yield DoneEvent(**self.turn.ids, status="complete")

    def interrupted(self, reason: str) -> None:
        return None


def new_turn() -> Turn:
    return Turn(conversation_id="c1", user_message_id="u1", model_name="m", history=[], request={})


async def test_a_follower_elsewhere_gets_the_events_after_any_seq(database: Database, redis_url: str):
    here = RedisAnswers(database, redis_url, replica_timeout=15)
    await here.begin()
    turn = new_turn()
    run = here.start(turn, answer(turn, tokens=40, gap=0.002))  # many events per publishing round
    elsewhere = RemoteAnswer(here.redis, RemoteTurn("c1", turn.message_id, "m", None, here.replica), here.reader)
    followed = [event async for event in elsewhere.follow(-1)]
    await run.ended()

    entries = await here.redis.xrange(f"agent-service:answer:{turn.message_id}")
    sliced = {after: await elsewhere.so_far(after) for after in range(-1, len(run.log))}
    resumed = [event async for event in elsewhere.follow(17)]
    await here.close()

    log = [event.model_dump() for event in run.log]
    assert [event.model_dump() for event in followed] == log
    assert len(entries) < len(log) / 2  # rounds, not events
    for after, events in sliced.items():
        assert [event.model_dump() for event in events] == log[after + 1 :], after
    assert [event.seq for event in resumed] == list(range(18, len(log)))


async def test_closing_publishes_the_last_events_and_returns(database: Database, redis_url: str):
    here = RedisAnswers(database, redis_url, replica_timeout=15)
    await here.begin()
    turns = [new_turn() for _ in range(16)]
    runs = [here.start(turn, answer(turn, tokens=20, gap=0.001)) for turn in turns]
    await asyncio.gather(*(run.ended() for run in runs))
    stream = f"agent-service:answer:{turns[-1].message_id}"
    await asyncio.wait_for(here.close(), 5)  # right after the answers: their `done` may not be out yet

    reader = RedisAnswers(database, redis_url, replica_timeout=15)
    last = await reader.redis.xrevrange(stream, count=1)
    gone = await reader.redis.exists(f"agent-service:run:{turns[-1].message_id}")
    ttl = await reader.redis.ttl(stream)
    await reader.redis.aclose()
    assert last and b'"type":"done"' in last[0][1][b"e"]
    assert not gone and 0 < ttl <= 600


async def test_followers_on_another_replica_share_one_redis_connection(database: Database, redis_url: str):
    here, there = (
        RedisAnswers(database, redis_url, replica_timeout=15),
        RedisAnswers(database, redis_url, replica_timeout=15),
    )
    await here.begin()
    await there.begin()
    turns = [new_turn() for _ in range(20)]
    runs = [here.start(turn, answer(turn, tokens=30, gap=0.01)) for turn in turns]

    async def follow(turn: Turn, after: int) -> list[int]:
        remote = await there.find(turn.message_id)
        assert isinstance(remote, RemoteAnswer)
        return [event.seq async for event in remote.follow(after)]

    await asyncio.sleep(0.05)  # announced: published after the linger
    followers = [asyncio.create_task(follow(turn, after=n % 5 - 1)) for n, turn in enumerate(turns)]
    await asyncio.sleep(0.15)  # the answers are half way
    blocked = [client for client in await there.redis.client_list() if client["cmd"] == "xread"]
    late = await follow(turns[0], after=2)  # joins while the reader waits
    followed = await asyncio.gather(*followers)
    await asyncio.gather(*(run.ended() for run in runs))
    await there.close()
    await here.close()

    assert len(blocked) == 1
    assert late == list(range(3, 32))
    for n, seqs in enumerate(followed):
        assert seqs == list(range(n % 5, 32)), n
