"""Hybrid ranking: vector and keyword candidates, scored by how relevant they are.

What the numbers mean (the API's `score` and `score_threshold` are the same
quantity):

- `vector_score`: cosine similarity of query and chunk embeddings, clamped to
  0..1. None: the chunk was not among the vector half's candidates.
- `keyword_score`: how much of the query the chunk holds, 0..1: the share of
  the query's terms (function words left out) found in the chunk, each term
  weighted by its rarity in the base (idf). 1 = every term; a term the base
  never uses weighs the most, so a question about something the base does
  not mention covers little. None: the chunk holds no query term.
- `score`: relevance in 0..1, higher is better, from both signals at once:
  `sigmoid((cosine + keyword_weight * keyword_score - cosine_midpoint) / cosine_scale)`,
  with the embedding model's calibration (`RelevanceCalibration`). It does
  not depend on rank nor on what else the base holds, so the same number
  means the same from one query, and one base, to the next. Calibrated on
  `bench/kb_quality.py`'s tuning set (MiniLM), where 0.5 separates chunks that
  answer the question from chunks that do not. Results are ordered by it.

A keyword candidate that is not among the vector candidates is less similar
than all of them: it is given the least similar one's cosine, an upper bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from agent_service.config import RelevanceCalibration
from agent_service.knowledge.keyword_index import IndexedChunk, KeywordResult
from agent_service.knowledge.models import SearchHit
from agent_service.knowledge.vector_store import VectorMatch

DEFAULT_SCORE_THRESHOLD = 0.5  # the routes' default: most questions the base cannot answer find nothing
_POSITION_KEYS = {"file", "chunk_index", "page"}


@dataclass
class Candidate:
    chunk: IndexedChunk
    cosine: float | None = None
    coverage: float | None = None
    score: float = 0.0


def relevance(cosine: float, coverage: float, calibration: RelevanceCalibration) -> float:
    evidence = cosine + calibration.keyword_weight * coverage - calibration.cosine_midpoint
    return 1.0 / (1.0 + math.exp(-evidence / calibration.cosine_scale))


def fuse(
    vector: Sequence[VectorMatch],
    keyword: KeywordResult,
    *,
    calibration: RelevanceCalibration,
    min_similarity: float = 0.0,
) -> list[Candidate]:
    """Every candidate of both halves, most relevant first (ties by chunk id).

    A chunk that holds no query term and is less similar than `min_similarity`
    is left out, whatever its score.
    """
    candidates: dict[str, Candidate] = {}
    for match in vector:
        candidates[match.chunk.id] = Candidate(match.chunk, cosine=match.cosine)
    for found in keyword.matches:
        candidates.setdefault(found.chunk.id, Candidate(found.chunk))
    floor = min((match.cosine for match in vector), default=0.0)
    for candidate in candidates.values():
        candidate.coverage = keyword.coverage.get(candidate.chunk.id)
        cosine = floor if candidate.cosine is None else candidate.cosine
        candidate.score = relevance(cosine, candidate.coverage or 0.0, calibration)
    kept = [
        candidate
        for candidate in candidates.values()
        if min_similarity <= 0 or candidate.coverage or (candidate.cosine or 0.0) >= min_similarity
    ]
    return sorted(kept, key=lambda candidate: (-candidate.score, candidate.chunk.id))


def to_hit(candidate: Candidate) -> SearchHit:
    metadata = candidate.chunk.metadata
    return SearchHit(
        text=candidate.chunk.text,
        file=candidate.chunk.file,
        chunk_index=int(metadata.get("chunk_index", 0)),
        page=metadata.get("page"),
        score=candidate.score,
        vector_score=None if candidate.cosine is None else min(max(candidate.cosine, 0.0), 1.0),
        keyword_score=candidate.coverage,
        metadata={key: value for key, value in metadata.items() if key not in _POSITION_KEYS},
    )
