"""A fake OpenAI-compatible server on 127.0.0.1, for tests and benchmarks.

Replies are scripted (`enqueue`), streamed or not as the client asks, with
optional delays, tool calls, an HTTP error, or a connection dropped after a
number of chunks. Every request body is recorded in `requests`.

`/v1/embeddings` answers with the deterministic hashed embeddings of
`agent_service.knowledge.embeddings.HashedEmbeddings` (after `embedding_delay`
seconds); its request bodies go to `embedding_requests`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from tests.threaded_server import ThreadedServer


@dataclass
class Reply:
    text: str = "OK"
    chunks: list[str] | None = None  # default: the text split into words
    tool_calls: list[dict[str, Any]] | None = None  # [{"name": ..., "arguments": {...}}]
    finish_reason: str | None = None  # default: "tool_calls" with tool calls, else "stop"
    status: int = 200  # not 200: answer with an OpenAI-style error body
    fail_after: int | None = None  # drop the connection after this many chunks
    first_delay: float = 0.0  # seconds before the first chunk
    delay: float = 0.0  # seconds between chunks

    def pieces(self) -> list[str]:
        return self.chunks if self.chunks is not None else re.findall(r"\s*\S+", self.text)


class UpstreamDropped(Exception):
    """Raised inside the response body: the server drops the connection."""


@dataclass
class FakeOpenAI:
    default: Reply = field(default_factory=Reply)
    requests: list[dict[str, Any]] = field(default_factory=list)
    on_request: Callable[[dict[str, Any]], None] | None = None
    replies: deque[Reply] = field(default_factory=deque)
    url: str = ""
    embedding_delay: float = 0.0  # seconds before each /v1/embeddings answer
    embedding_requests: list[dict[str, Any]] = field(default_factory=list)
    streams_cut: int = 0  # streamed replies that ended before their last chunk (a client hung up)
    # With nothing queued: a reply made from the request (tests/plausible_model.py), else `default`.
    responder: Callable[[dict[str, Any]], Reply] | None = None

    def enqueue(self, *replies: Reply | str) -> None:
        self.replies.extend(Reply(text=r) if isinstance(r, str) else r for r in replies)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    # --- the HTTP app ---------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            ]
        )

    async def _models(self, _: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    async def _embeddings(self, request: Request) -> JSONResponse:
        from agent_service.knowledge.embeddings import HashedEmbeddings

        body = await request.json()
        self.embedding_requests.append(body)
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        await asyncio.sleep(self.embedding_delay)
        vectors = HashedEmbeddings().embed_documents(texts)
        data = [{"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(vectors)]
        usage = {"prompt_tokens": 0, "total_tokens": 0}
        return JSONResponse({"object": "list", "data": data, "model": body.get("model", "fake"), "usage": usage})

    async def _chat_completions(self, request: Request):
        body = await request.json()
        self.requests.append(body)
        if self.on_request:
            self.on_request(body)
        reply = self.replies.popleft() if self.replies else self.responder(body) if self.responder else self.default
        if reply.status != 200:
            error = {"error": {"message": f"scripted upstream error {reply.status}", "type": "server_error"}}
            # Clients that retry (the openai SDK) wait 1 ms, not their own back-off.
            return JSONResponse(error, status_code=reply.status, headers={"retry-after-ms": "1"})
        model = body.get("model", "fake-model")
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(self._stream(reply, model, include_usage), media_type="text/event-stream")
        await asyncio.sleep(reply.first_delay)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.tool_calls:
            message["tool_calls"] = _tool_calls(reply.tool_calls)
        return JSONResponse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish_of(reply)}],
                "usage": usage_of(body, reply.text),
            }
        )

    async def _stream(self, reply: Reply, model: str, include_usage: bool):
        def frame(delta: dict[str, Any], finish: str | None = None, usage: dict | None = None) -> str:
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if usage:
                chunk["usage"] = usage
            return f"data: {json.dumps(chunk)}\n\n"

        finished = False
        try:
            await asyncio.sleep(reply.first_delay)
            yield frame({"role": "assistant", "content": ""})
            for sent, piece in enumerate(reply.pieces()):
                if reply.fail_after is not None and sent >= reply.fail_after:
                    raise UpstreamDropped("scripted connection drop")
                if sent and reply.delay:
                    await asyncio.sleep(reply.delay)
                yield frame({"content": piece})
            for index, call in enumerate(_tool_calls(reply.tool_calls or [])):
                # As OpenAI streams a call: id and name first, then the arguments in fragments.
                arguments = call["function"]["arguments"]
                opening = {**call, "function": {"name": call["function"]["name"], "arguments": ""}}
                yield frame({"tool_calls": [{"index": index, **opening}]})
                for start in range(0, len(arguments), 8):
                    fragment = {"index": index, "function": {"arguments": arguments[start : start + 8]}}
                    yield frame({"tool_calls": [fragment]})
            yield frame({}, finish_of(reply))
            if include_usage:
                yield frame({}, usage=usage_of({}, reply.text))
            yield "data: [DONE]\n\n"
            finished = True
        finally:
            if not finished and reply.fail_after is None:
                self.streams_cut += 1

    # --- running it -----------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        self._server = ThreadedServer(self.app())
        self.url = self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


def finish_of(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": call.get("id", f"call_{index}"),
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call.get("arguments", {}))},
        }
        for index, call in enumerate(calls)
    ]


def usage_of(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
    completion = len(text) // 4
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def main() -> None:
    """Run the fake upstream alone: `python -m tests.fake_openai --port 8001 ...` (benchmarks)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--first-delay", type=float, default=0.05)
    parser.add_argument("--delay", type=float, default=0.01)
    parser.add_argument("--embedding-delay", type=float, default=0.0, help="seconds before each /v1/embeddings answer")
    args = parser.parse_args()
    reply = Reply(chunks=[f" tok{n}" for n in range(args.tokens)], first_delay=args.first_delay, delay=args.delay)
    reply.text = "".join(reply.pieces())
    fake = FakeOpenAI(default=reply, embedding_delay=args.embedding_delay)
    uvicorn.run(fake.app(), host="127.0.0.1", port=args.port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
