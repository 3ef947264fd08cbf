"""Hybrid search over knowledge bases, many searches at a time.

A batch of searches costs one query-embedding call for all of them, then, per
base, one read of which files it may show, one vector query and one keyword
query for all of that base's searches. Each search's vector and keyword
candidates are fused into one relevance (`fusion`), which the reranker, when
configured, replaces for the best of them. Searches see only files that are
fully indexed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from langchain_core.embeddings import Embeddings

from agent_service import metrics
from agent_service.batching import Batched
from agent_service.config import Settings
from agent_service.db.engine import Database
from agent_service.errors import ServiceError
from agent_service.knowledge import crud
from agent_service.knowledge.embeddings import check_embedding_model, embedding_model_name, relevance_calibration
from agent_service.knowledge.errors import EmptyKnowledgeBaseError
from agent_service.knowledge.fusion import DEFAULT_SCORE_THRESHOLD, Candidate, fuse, to_hit
from agent_service.knowledge.models import SearchHit
from agent_service.knowledge.names import validate_kb_name
from agent_service.knowledge.reranker import Reranker
from agent_service.knowledge.stores import StoreFactory

MAX_TOP_K = 100
CANDIDATES_PER_HIT = 4  # each retriever proposes this many chunks per hit asked for
MIN_CANDIDATES = 20


@dataclass(frozen=True)
class SearchRequest:
    name: str
    query: str
    top_k: int = 3
    score_threshold: float = DEFAULT_SCORE_THRESHOLD

    def check(self) -> None:
        if not self.query.strip():
            raise ServiceError("the query is empty")
        if not 1 <= self.top_k <= MAX_TOP_K:
            raise ServiceError(f"top_k must be between 1 and {MAX_TOP_K}")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ServiceError("score_threshold must be between 0 and 1")


class HybridSearch:
    """Searches of the bases in `stores`, embedded with `embeddings`, scored as `settings` say."""

    def __init__(self, settings: Settings, db: Database, stores: StoreFactory, embeddings: Embeddings) -> None:
        self.db = db
        self.stores = stores
        self.embeddings = embeddings
        self.embedding_model = embedding_model_name(settings.embeddings)
        self.min_similarity = settings.kb_min_similarity
        self.calibration = relevance_calibration(settings.embeddings)
        self.reranker = Reranker(settings.reranker) if settings.reranker else None
        self._batched = Batched(self.search_many)

    def search(self, request: SearchRequest) -> list[SearchHit]:
        [found] = self.search_many([request])
        if isinstance(found, Exception):
            raise found
        return found

    async def asearch(self, request: SearchRequest) -> list[SearchHit]:
        """`search`, from the event loop: searches that arrive together run as one batch in a worker thread."""
        request.check()  # a bad request is refused before it waits for a batch
        with metrics.KNOWLEDGE_SEARCH.time():
            return await self._batched(request)

    def search_many(self, requests: Sequence[SearchRequest]) -> list[list[SearchHit] | Exception]:
        """Each request's hits, or the error that refused or failed it."""
        results: list[list[SearchHit] | Exception] = [[] for _ in requests]
        by_base: dict[str, list[int]] = {}
        for position, request in enumerate(requests):
            try:
                request.check()
                by_base.setdefault(validate_kb_name(request.name), []).append(position)
            except ServiceError as exc:
                results[position] = exc
        scopes: dict[str, tuple[set[str], bool]] = {}
        for name, positions in by_base.items():
            try:
                scopes[name] = self._scope(name)
            except ServiceError as exc:
                for position in positions:
                    results[position] = exc
        searched = [position for name in scopes for position in by_base[name]]
        if not searched:
            return results
        try:
            # One call for every query (each provider here embeds a query as it embeds a document).
            embedded = self.embeddings.embed_documents([requests[position].query for position in searched])
        except Exception as exc:
            for position in searched:
                results[position] = exc
            return results
        embedding_of = dict(zip(searched, embedded, strict=True))
        candidates: dict[int, list[Candidate]] = {}
        for name, (visible, hidden) in scopes.items():
            positions = by_base[name]
            try:
                found = self._search_base(
                    name,
                    [requests[p] for p in positions],
                    [embedding_of[p] for p in positions],
                    visible=visible,
                    hidden=hidden,
                )
            except Exception as exc:
                for position in positions:
                    results[position] = exc
                continue
            candidates.update(zip(positions, found, strict=True))
        if self.reranker:
            _rerank(self.reranker, requests, candidates)
        for position, ranked in candidates.items():
            request = requests[position]
            results[position] = [to_hit(c) for c in ranked if c.score >= request.score_threshold][: request.top_k]
        return results

    def _scope(self, name: str) -> tuple[set[str], bool]:
        """The files a search of this base may return, and whether any other file is being indexed."""
        kb, visible, hidden = self.db.transact_read(crud.search_scope, name=name)
        check_embedding_model(kb, self.embedding_model)
        if not visible:
            raise EmptyKnowledgeBaseError(f"knowledge base {name!r} has no indexed file to search")
        return visible, hidden

    def _search_base(
        self,
        name: str,
        requests: list[SearchRequest],
        embeddings: list[list[float]],
        *,
        visible: set[str],
        hidden: bool,
    ) -> list[list[Candidate]]:
        stores = self.stores.open(name)
        candidates = [max(CANDIDATES_PER_HIT * request.top_k, MIN_CANDIDATES) for request in requests]
        limit = max(candidates)
        # Only files that are fully indexed: never half a file, nor one being replaced or deleted.
        # Chroma's `$in` filter costs more than the search itself on a large base: skip it
        # unless some file is being indexed (or was, when a crash stopped it).
        vector = stores.vectors.search_many(embeddings, limit=limit, files=visible if hidden else None)
        vector = [matches[:wanted] for matches, wanted in zip(vector, candidates, strict=True)]
        keyword = stores.keywords.search_many(
            [r.query for r in requests],
            limit=limit,
            files=visible,
            also_cover=[[match.chunk.id for match in matches] for matches in vector],
        )
        return [
            fuse(
                vector_matches,
                replace(keyword_result, matches=keyword_result.matches[:wanted]),
                calibration=self.calibration,
                min_similarity=self.min_similarity,
            )
            for vector_matches, keyword_result, wanted in zip(vector, keyword, candidates, strict=True)
        ]

    def close(self) -> None:
        if self.reranker:
            self.reranker.close()


def _rerank(reranker: Reranker, requests: Sequence[SearchRequest], candidates: dict[int, list[Candidate]]) -> None:
    """The reranker's scores replace the fused ones of each request's best candidates,
    which it reorders; where it fails, the fused order and scores stand."""
    sent = {p: ranked[: max(reranker.config.top_n, requests[p].top_k)] for p, ranked in candidates.items()}
    scored = reranker.scores_many([(requests[p].query, [c.chunk.text for c in best]) for p, best in sent.items()])
    for (position, best), scores in zip(sent.items(), scored, strict=True):
        if scores is None:
            continue
        for candidate, score in zip(best, scores, strict=True):
            candidate.score = score
        candidates[position] = sorted(best, key=lambda c: (-c.score, c.chunk.id))
