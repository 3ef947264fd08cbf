"""A fake `/rerank` server on 127.0.0.1, for tests.

A document's score is what `scores` says for a text it contains, else the
share of the query's words it contains, so a test knows the order to expect. It answers as vLLM, Infinity and Jina do
(`{"results": [{"index", "relevance_score"}]}`, best first) or, with `tei`, as
HF TEI does (`[{"index", "score"}]`); `delay` seconds before answering,
`status` other than 200 for a failure. Request bodies go to `requests`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.threaded_server import ThreadedServer


def word_share(query: str, document: str) -> float:
    words = set(re.findall(r"\w+", query.lower()))
    return len(words & set(re.findall(r"\w+", document.lower()))) / (len(words) or 1)


@dataclass
class FakeReranker:
    tei: bool = False
    scores: dict[str, float] = field(default_factory=dict)  # text in the document -> its score
    delay: float = 0.0
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def _rerank(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        await asyncio.sleep(self.delay)
        if self.status != 200:
            return JSONResponse({"error": "model not loaded"}, status_code=self.status)
        documents = body["texts"] if self.tei else body["documents"]
        scores = sorted(
            ((index, self._score(body["query"], text)) for index, text in enumerate(documents)), key=lambda s: -s[1]
        )
        if self.tei:
            return JSONResponse([{"index": index, "score": score} for index, score in scores])
        return JSONResponse(
            {"model": body.get("model"), "results": [{"index": i, "relevance_score": s} for i, s in scores]}
        )

    def _score(self, query: str, document: str) -> float:
        return next((score for text, score in self.scores.items() if text in document), word_share(query, document))

    def start(self) -> FakeReranker:
        self._server = ThreadedServer(Starlette(routes=[Route("/rerank", self._rerank, methods=["POST"])]))
        self.url = self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
