"""Hybrid ranking: vector and keyword candidates fused by reciprocal rank fusion.

What the numbers mean (the API's `score` and `score_threshold` are the same
quantity):

- `score`, in (0, 1], higher is better: the normalised RRF score
  `(1/(k + rank_vector) + 1/(k + rank_keyword)) / (2/(k + 1))` with k = 60 and
  1-based ranks in each retriever's candidate list; a retriever that did not
  return the chunk adds 0. So 1.0 = first for both retrievers; 0.5 = first for
  one and not found by the other; about 0.44 = 10th for one only; about 0.95 =
  first for one and 8th for the other. It says how highly the two retrievers
  agree to rank a chunk within this knowledge base, not how relevant it is in
  absolute terms: the best chunk of a base that knows nothing about the
  question still scores 0.5 or more, but when no query term is in the base
  (the keyword retriever finds nothing) no chunk scores above 0.5.
- `vector_score`: cosine similarity of query and chunk embeddings, clamped to
  0..1 (1 = same direction). Absolute, but its scale depends on the model.
- `keyword_score`: `s / (1 + s)` with `s = -bm25` (SQLite FTS5's bm25 is
  negative, lower is better), 0..1. It grows with rare matching terms and
  depends on the base's size: for display and debugging.

Ties (first for one retriever against first for the other) go by chunk id:
arbitrary, but the same every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent_service.knowledge.keyword_index import IndexedChunk, KeywordMatch
from agent_service.knowledge.models import SearchHit
from agent_service.knowledge.vector_store import VectorMatch

RRF_K = 60
RETRIEVERS = 2  # vector and keyword: the best possible fused score is RETRIEVERS / (RRF_K + 1)

_POSITION_KEYS = {"file", "chunk_index", "page"}


@dataclass
class _Candidate:
    chunk: IndexedChunk
    rrf: float = 0.0
    cosine: float | None = None
    bm25: float | None = None


def keyword_relevance(bm25: float) -> float:
    strength = max(-bm25, 0.0)
    return strength / (1.0 + strength)


def fuse(
    vector: Sequence[VectorMatch],
    keyword: Sequence[KeywordMatch],
    *,
    top_k: int,
    score_threshold: float = 0.0,
    min_similarity: float = 0.0,
) -> list[SearchHit]:
    """The `top_k` best chunks of both candidate lists (each best first) scoring at least `score_threshold`.

    A chunk that matched no query term and is less similar than `min_similarity`
    is left out: the nearest chunks of a base that knows nothing of the question
    are still the nearest, and without this floor every question would find something.
    """
    candidates: dict[str, _Candidate] = {}

    def rank(chunk: IndexedChunk, position: int) -> _Candidate:
        candidate = candidates.setdefault(chunk.id, _Candidate(chunk))
        candidate.rrf += 1.0 / (RRF_K + position)
        return candidate

    for position, match in enumerate(vector, 1):
        rank(match.chunk, position).cosine = match.cosine
    for position, match in enumerate(keyword, 1):
        rank(match.chunk, position).bm25 = match.bm25

    best_possible = RETRIEVERS / (RRF_K + 1)
    ordered = sorted(candidates.values(), key=lambda c: (-c.rrf, c.chunk.id))
    relevant = [c for c in ordered if min_similarity <= 0 or c.bm25 is not None or (c.cosine or 0.0) >= min_similarity]
    hits = [_hit(candidate, min(candidate.rrf / best_possible, 1.0)) for candidate in relevant]
    return [hit for hit in hits if hit.score >= score_threshold][:top_k]


def _hit(candidate: _Candidate, score: float) -> SearchHit:
    metadata = candidate.chunk.metadata
    return SearchHit(
        text=candidate.chunk.text,
        file=candidate.chunk.file,
        chunk_index=int(metadata.get("chunk_index", 0)),
        page=metadata.get("page"),
        score=score,
        vector_score=None if candidate.cosine is None else min(max(candidate.cosine, 0.0), 1.0),
        keyword_score=None if candidate.bm25 is None else keyword_relevance(candidate.bm25),
        metadata={key: value for key, value in metadata.items() if key not in _POSITION_KEYS},
    )
