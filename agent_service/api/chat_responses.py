"""How the Chatchat chat routes answer a turn: its events as SSE in the
Chatchat 0.2 dialect, or (`stream: false`) one JSON object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from agent_service.protocols.chatchat.errors import error_body
from agent_service.protocols.chatchat.frames import ChatchatDialect, ChatchatRoute
from agent_service.runs.start import StartedAnswer
from agent_service.streaming.events import DoneEvent, ErrorEvent, StreamEvent, TokenEvent
from agent_service.streaming.responses import collect, sse_response


async def chatchat_response(
    run: StartedAnswer, *, route: ChatchatRoute, stream: bool, fields: Callable[[list[StreamEvent]], dict[str, Any]]
) -> Response | dict[str, Any]:
    """The events as SSE, or one JSON object of the turn's ids, `fields(events)`,
    status, finish reason and usage; a 502 with the same object and the message
    when the model failed."""
    if stream:
        return sse_response(run.events(), encode=ChatchatDialect(route, run.docs).encode)
    events = await collect(run.events())
    done = next(e for e in events if isinstance(e, DoneEvent))
    answer = {
        **run.turn.ids,
        **fields(events),
        "status": done.status,
        "finish_reason": done.finish_reason,
        "usage": done.usage,
    }
    if error := next((e for e in events if isinstance(e, ErrorEvent)), None):
        return JSONResponse(error_body(502, error.message, **answer), status_code=502)
    return answer


def answer_text(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TokenEvent))
