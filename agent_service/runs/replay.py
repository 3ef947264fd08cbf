"""An answer found by its id, live or stored, and its events after a `seq`:
what resuming, stopping and reading a stored completion start from."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from agent_service.db import answers
from agent_service.db.answers import StoredAnswer
from agent_service.db.engine import Database
from agent_service.db.models import LIVE_STATUSES
from agent_service.errors import NotFoundError
from agent_service.runs.live import FollowedAnswer, LiveAnswers
from agent_service.streaming.events import DoneEvent, MetadataEvent, StreamEvent
from agent_service.streaming.journal import events_after, expand

ANNOUNCED_WITHIN = 0.05  # seconds: a replica announces a new answer within its publishing linger (20 ms)


@dataclass
class FoundAnswer:
    message_id: str
    live: FollowedAnswer | None  # being generated, here or on another replica
    stored: StoredAnswer | None  # otherwise, as the database has it

    @property
    def ids(self) -> dict[str, str]:
        if self.live is not None:
            return self.live.turn.ids
        assert self.stored is not None
        return {"conversation_id": self.stored.conversation_id, "message_id": self.message_id}

    @property
    def model(self) -> str:
        if self.live is not None:
            return self.live.turn.model_name
        assert self.stored is not None
        return self.stored.model or ""

    async def events(
        self, after: int = -1, *, follow: bool = True, earlier: bool = False
    ) -> AsyncIterator[StreamEvent]:
        """The events with `seq > after` (all of them with `earlier`, each token as it
        streamed, for renderers that need what came before); a live answer's go on until
        `done` (with `follow`) or stop where it has come."""
        start = -1 if earlier else after
        if self.live is not None:
            if not follow:
                for event in await self.live.so_far(start):
                    yield event
                return
            async for event in self.live.follow(start):
                yield event
            return
        assert self.stored is not None
        for event in stored_events(self.stored, after, earlier=earlier):
            yield event


async def find_answer(runs: LiveAnswers, db: Database, *, message_id: str, owner: str | None) -> FoundAnswer:
    """The answer if the caller may see it; NotFoundError otherwise (another key's included)."""
    live, stored = await runs.find(message_id), None
    if live is None:
        stored = await db.atransact(answers.stored_answer, message_id=message_id, owner=owner)
        if stored.status in LIVE_STATUSES:
            # Live with no run to follow: its process died, or another replica started it so
            # recently that it has not announced it yet (replicas publish every 20 ms).
            await asyncio.sleep(ANNOUNCED_WITHIN)
            live = await runs.find(message_id)
    if live is not None:
        if owner is not None and live.turn.owner != owner:
            raise NotFoundError(f"message {message_id!r} not found")
        return FoundAnswer(message_id, live=live, stored=None)
    assert stored is not None
    return FoundAnswer(message_id, live=None, stored=stored)


def stored_events(stored: StoredAnswer, after: int = -1, *, earlier: bool = False) -> list[StreamEvent]:
    """A stored answer's events after `after` (with `earlier`, all, each token as it streamed),
    ending with `done`. An answer a crash cut has its last checkpoint and a `done`
    that says so; one saved before answers kept their events has its text as one token."""
    ids = {"conversation_id": stored.conversation_id, "message_id": stored.message_id}
    journal = stored.events or _as_journal(stored)
    if earlier:  # every token as it streamed: renderers number their events the same as live
        events = expand(journal, ids=ids, every_token=True)
    else:
        events = events_after(journal, after, ids=ids)
    last_seq = journal[-1]["seq"] if journal else -1
    if not journal or journal[-1]["type"] != "done":
        interrupted = stored.status in LIVE_STATUSES  # its process is gone
        done = DoneEvent(
            **ids,
            seq=last_seq + 1,
            status="interrupted" if interrupted else stored.status,
            reason="server_crash" if interrupted else stored.meta.get("reason"),
            finish_reason=stored.meta.get("finish_reason"),
            usage=stored.meta.get("usage"),
        )
        if earlier or done.seq > after:
            events.append(done)
    return events


def _as_journal(stored: StoredAnswer) -> list[dict]:
    ids = {"conversation_id": stored.conversation_id, "message_id": stored.message_id}
    metadata = MetadataEvent(**ids, seq=0, model=stored.model or "")
    journal = [metadata.model_dump(mode="json", exclude_none=True, exclude=set(ids))]
    if text := stored.meta.get("transcript") or stored.content:
        journal.append({"type": "token", "seq": 1, "text": text, "sizes": [len(text)]})
    return journal
