"""The `openai` provider against an OpenAI-compatible `/v1/embeddings` on
127.0.0.1: the real langchain-openai client, text inputs, batches of 64."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent_service.knowledge.embeddings import HashedEmbeddings
from tests.threaded_server import ThreadedServer


class FakeEmbeddingsServer:
    """Answers with hashed embeddings and records every request body. Like
    OpenAI and vLLM it sends base64 float32 when asked; some servers always
    send JSON floats (`base64=False`)."""

    def __init__(self, *, base64: bool) -> None:
        self.requests: list[dict[str, Any]] = []
        self.embeddings = HashedEmbeddings()
        self.base64 = base64

    def encode(self, vector: list[float], body: dict[str, Any]) -> list[float] | str:
        if self.base64 and body.get("encoding_format") == "base64":
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return vector

    async def embeddings_route(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        vectors = self.embeddings.embed_documents(body["input"])
        data = [
            {"object": "embedding", "index": i, "embedding": self.encode(vector, body)}
            for i, vector in enumerate(vectors)
        ]
        usage = {"prompt_tokens": 0, "total_tokens": 0}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})


@pytest.fixture(params=[True, False], ids=["base64", "floats"])
def embeddings_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, FakeEmbeddingsServer]]:
    fake = FakeEmbeddingsServer(base64=request.param)
    app = Starlette(routes=[Route("/v1/embeddings", fake.embeddings_route, methods=["POST"])])
    server = ThreadedServer(app)
    yield f"{server.start()}/v1", fake
    server.stop()


def test_an_openai_compatible_endpoint_embeds_in_batches(make_service, embeddings_server):
    base_url, fake = embeddings_server
    service = make_service(embeddings={"provider": "openai", "base_url": base_url, "model": "bge-m3"})
    service.create(name="kb")
    text = " ".join(f"Sentence {n} mentions valve V-{n}." for n in range(150))

    [result] = service.add_files(name="kb", files=[("long.txt", text.encode())], chunk_size=40, chunk_overlap=0)
    [hit] = service.search(name="kb", query="valve V-42", top_k=1)

    assert result.status == "indexed" and result.chunk_count > 64
    document_batches = [len(body["input"]) for body in fake.requests[:-1]]
    assert max(document_batches) == 64 and sum(document_batches) == result.chunk_count
    assert all(body["model"] == "bge-m3" for body in fake.requests)
    assert all(isinstance(item, str) for body in fake.requests for item in body["input"])  # text, not token ids
    assert all(body["encoding_format"] == "base64" for body in fake.requests)
    assert hit.text == "Sentence 42 mentions valve V-42."
    assert service.get(name="kb").embedding_model == "bge-m3"
