"""Fusion with stub retrievers: what the relevance score means."""

from __future__ import annotations

import pytest

from agent_service.config import RelevanceCalibration
from agent_service.knowledge.fusion import fuse, relevance, to_hit
from agent_service.knowledge.keyword_index import IndexedChunk, KeywordMatch, KeywordResult
from agent_service.knowledge.vector_store import VectorMatch

CALIBRATION = RelevanceCalibration(cosine_midpoint=0.4, cosine_scale=0.1, keyword_weight=0.5)


def chunk(name: str) -> IndexedChunk:
    return IndexedChunk(id=name, file=f"{name}.txt", text=name, metadata={"chunk_index": 0, "headings": "H"})


def vector(**cosines: float) -> list[VectorMatch]:
    return [VectorMatch(chunk(name), cosine=cosine) for name, cosine in cosines.items()]


def keyword(**coverage: float) -> KeywordResult:
    return KeywordResult(matches=[KeywordMatch(chunk(name), bm25=-1.0) for name in coverage], coverage=dict(coverage))


def test_the_score_grows_with_each_signal_and_crosses_half_at_the_midpoint():
    assert relevance(0.4, 0.0, CALIBRATION) == pytest.approx(0.5)
    assert relevance(0.2, 0.4, CALIBRATION) == pytest.approx(0.5)  # 0.2 of cosine made up by 40% of the query
    assert relevance(0.1, 0.0, CALIBRATION) < 0.05 < 0.95 < relevance(0.7, 0.0, CALIBRATION)
    assert relevance(0.3, 1.0, CALIBRATION) > relevance(0.3, 0.5, CALIBRATION) > relevance(0.3, 0.0, CALIBRATION)


def test_the_score_does_not_depend_on_rank_or_on_the_other_candidates():
    alone = fuse(vector(a=0.5), KeywordResult(), calibration=CALIBRATION)
    among_better = fuse(vector(b=0.9, c=0.8, a=0.5), keyword(b=1.0), calibration=CALIBRATION)

    assert alone[0].score == next(c.score for c in among_better if c.chunk.id == "a")


def test_both_halves_are_ranked_together_by_relevance():
    ranked = fuse(vector(close=0.6, near=0.45), keyword(near=1.0, term_only=0.2), calibration=CALIBRATION)

    assert [c.chunk.id for c in ranked] == ["near", "close", "term_only"]
    # A keyword-only chunk gets the least similar vector candidate's cosine.
    assert ranked[2].score == pytest.approx(relevance(0.45, 0.2, CALIBRATION))


def test_ties_go_by_chunk_id():
    ranked = fuse(vector(b=0.5, a=0.5), KeywordResult(), calibration=CALIBRATION)

    assert [c.chunk.id for c in ranked] == ["a", "b"]


def test_a_chunk_with_no_query_term_needs_min_similarity():
    ranked = fuse(vector(near=0.6, far=0.1), keyword(term=0.5), calibration=CALIBRATION, min_similarity=0.25)

    assert [c.chunk.id for c in ranked] == ["near", "term"]


def test_hits_carry_both_signals_position_and_metadata():
    [both, term_only] = [to_hit(c) for c in fuse(vector(a=0.5), keyword(a=0.75, b=0.2), calibration=CALIBRATION)]

    assert (both.vector_score, both.keyword_score) == (0.5, 0.75)
    assert (term_only.vector_score, term_only.keyword_score) == (None, 0.2)
    assert (both.file, both.chunk_index, both.page, both.metadata) == ("a.txt", 0, None, {"headings": "H"})
