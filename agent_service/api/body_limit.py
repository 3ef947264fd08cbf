"""A request body's size is bounded before any route reads it: a JSON body at
`max_json_bytes`, any other (uploads) at `max_body_bytes`. A declared
`Content-Length` over the bound is refused at once (and one within it is left
alone: the server reads no more); a chunked body that streams past it is cut
off there, so nothing reads more than the bound into memory or onto disk."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_bytes = max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        content_type = headers.get("content-type", "").lower()
        limit = self.max_body_bytes if content_type.startswith("multipart/") else self.max_json_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit():  # the server reads no more than it declares
            if int(declared) > limit:
                await _too_large(send, limit)
            else:
                await self.app(scope, receive, send)  # untouched: nothing added per streamed event
            return
        if "chunked" not in headers.get("transfer-encoding", ""):
            await self.app(scope, receive, send)  # no body
            return
        received, started, refused = 0, False, False

        async def counted_receive() -> Message:
            # Past the limit: answer 413 now, and tell the route its client is gone.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _too_large(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 was the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, watched_send)


async def _too_large(send: Send, limit: int) -> None:
    message = f"the request body is over the limit of {limit:,} bytes"
    body = json.dumps(
        {
            "detail": message,
            "code": 413,
            "msg": message,
            "error": {"message": message, "type": "invalid_request_error", "param": None, "code": "body_too_large"},
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
