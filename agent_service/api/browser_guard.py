"""What keeps a web page the user visits from using the service against them.

With keys off (the default on a laptop) any page can send requests to
127.0.0.1:7861. Two checks, before any route runs:

- Host: on a loopback service, only a loopback name (or one the operator
  allows) reaches it. A page on attacker.example whose name is made to
  resolve to 127.0.0.1 (DNS rebinding) sends `Host: attacker.example`, and
  could otherwise read every answer: same origin, as far as the browser knows.
- Origin: a request that changes something (POST, PUT, PATCH, DELETE) sent by
  a browser from another origin is refused (its `Origin`, or `Sec-Fetch-Site`).
  Clients that are not browsers send neither and pass. A text/plain body, what
  a cross-site form sends without asking, is refused too: the API takes JSON.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
EVERYWHERE = {"0.0.0.0", "::", ""}


def _hostname(host: str) -> str:
    """`[::1]:7861` -> `::1`, `Example.org:80` -> `example.org`."""
    return (urlsplit(f"//{host}").hostname or "").lower()


def served_hosts(*, listen_host: str, allowed_hosts: list[str]) -> set[str] | None:
    """The host names the service answers to; None for any (listening everywhere with none named, or `*`)."""
    if "*" in allowed_hosts or (listen_host in EVERYWHERE and not allowed_hosts):
        return None
    return LOOPBACK_NAMES | {listen_host.lower()} | {host.lower() for host in allowed_hosts}


class BrowserGuard:
    def __init__(self, app: ASGIApp, *, listen_host: str, allowed_hosts: list[str]) -> None:
        self.app = app
        hosts = served_hosts(listen_host=listen_host, allowed_hosts=allowed_hosts)
        self.any_host, self.hosts = hosts is None, hosts or set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        host = headers.get("host", "")
        if not self.any_host and _hostname(host) not in self.hosts:
            allowed = ", ".join(sorted(self.hosts))
            await _refuse(
                send,
                421,
                f"unknown host {host!r}: this service answers to {allowed} (AGENT_SERVICE_ALLOWED_HOSTS adds names)",
            )
            return
        if scope["method"] in UNSAFE_METHODS:
            origin = headers.get("origin")
            cross_origin = origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host.lower())
            if cross_origin or headers.get("sec-fetch-site") in ("cross-site", "same-site"):
                refused = f"cross-origin request from {origin or 'another site'!r} refused"
                await _refuse(send, 403, f"{refused}: a page of another site may not change anything here")
                return
            if headers.get("content-type", "").lower().startswith("text/plain"):
                # What a cross-site form can send without asking: the API takes JSON or multipart.
                await _refuse(send, 415, "a text/plain body is not accepted: send JSON (application/json)")
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps(
        {
            "detail": message,
            "code": status,
            "msg": message,
            "error": {"message": message, "type": "invalid_request_error", "param": None, "code": "forbidden"},
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
