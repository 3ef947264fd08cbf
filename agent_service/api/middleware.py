"""What every request passes through: a request id and the request count.

The request id is the client's `X-Request-ID` when it sends a sane one, else
a new one; it is on every log line written while the request is handled
(`%(request_id)s`) and in the response's `X-Request-ID` header.
"""

from __future__ import annotations

import copy
import logging
import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

from agent_service import metrics

request_id: ContextVar[str] = ContextVar("request_id", default="-")

_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(b"x-request-id", b"")
        rid = offered.decode() if _SANE_ID.fullmatch(offered) else uuid.uuid4().hex[:16]
        request_id.set(rid)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics.REQUESTS.labels(scope["method"], path, str(status)).inc()


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record a handler writes: the request's while one is handled, else `-`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def log_config() -> dict:
    """uvicorn's logging, with the request id on each line, for the service's loggers too."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": RequestIdFilter}}
    config["formatters"]["default"]["fmt"] = "%(levelprefix)s [%(request_id)s] %(name)s: %(message)s"
    config["formatters"]["access"]["fmt"] = (
        '%(levelprefix)s [%(request_id)s] %(client_addr)s - "%(request_line)s" %(status_code)s'
    )
    for handler in config["handlers"].values():
        handler["filters"] = ["request_id"]
    config["loggers"]["agent_service"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
