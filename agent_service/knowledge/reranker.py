"""An optional second opinion on the fused candidates: a cross-encoder behind a
`/rerank` endpoint, as vLLM, HF TEI, Infinity and Jina serve it.

Request: `POST {base_url}/rerank` with the query and the candidates' texts, as
`documents` (vLLM, Infinity, Jina, Cohere) and as `texts` (TEI). Response:
`{"results": [{"index", "relevance_score"}]}`, or TEI's bare
`[{"index", "score"}]`. Those servers already give scores in 0..1 (a sigmoid
of the cross-encoder's logit); anything outside is clamped.

A reranker that fails or is too slow costs a warning, never the question: the
caller keeps the fused order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from agent_service.config import RerankerConfig

logger = logging.getLogger(__name__)
PARALLEL_REQUESTS = 8  # per batch of searches: one request per query


class Reranker:
    """Scores documents for a query; thread-safe."""

    def __init__(self, config: RerankerConfig) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = httpx.Client(base_url=config.base_url.rstrip("/"), headers=headers, timeout=config.timeout)
        self._pool = ThreadPoolExecutor(PARALLEL_REQUESTS, thread_name_prefix="rerank")

    def scores(self, query: str, documents: Sequence[str]) -> list[float]:
        """One score in 0..1 per document, in order."""
        body = {"query": query, "documents": list(documents), "texts": list(documents), "top_n": len(documents)}
        if self.config.model:
            body["model"] = self.config.model
        response = self._client.post("/rerank", json=body)
        response.raise_for_status()
        found = response.json()
        results = found["results"] if isinstance(found, dict) else found
        scores = [0.0] * len(documents)
        for result in results:
            score = result["relevance_score"] if "relevance_score" in result else result["score"]
            scores[result["index"]] = min(max(float(score), 0.0), 1.0)
        return scores

    def scores_many(self, requests: Sequence[tuple[str, Sequence[str]]]) -> list[list[float] | None]:
        """`scores` for each (query, documents), concurrently; None where the reranker failed."""
        return list(self._pool.map(self._scores_or_none, requests))

    def _scores_or_none(self, request: tuple[str, Sequence[str]]) -> list[float] | None:
        query, documents = request
        if not documents:
            return []
        try:
            return self.scores(query, documents)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, IndexError) as exc:
            logger.warning("reranker %s failed, keeping the fused order: %r", self.config.base_url, exc)
            return None

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self._client.close()
