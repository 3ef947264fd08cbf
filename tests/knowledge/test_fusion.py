"""Reciprocal rank fusion with stub rankers: what the fused score means."""

from __future__ import annotations

import pytest

from agent_service.knowledge.fusion import fuse, keyword_relevance
from agent_service.knowledge.keyword_index import IndexedChunk, KeywordMatch
from agent_service.knowledge.vector_store import VectorMatch


def chunk(name: str) -> IndexedChunk:
    return IndexedChunk(id=name, file=f"{name}.txt", text=name, metadata={"chunk_index": 0, "headings": "H"})


def vector(*names: str) -> list[VectorMatch]:
    return [VectorMatch(chunk(name), cosine=0.9 - 0.1 * i) for i, name in enumerate(names)]


def keyword(*names: str) -> list[KeywordMatch]:
    return [KeywordMatch(chunk(name), bm25=-3.0 + i) for i, name in enumerate(names)]


def test_agreement_wins_and_each_side_contributes():
    hits = fuse(vector("both", "vector_only"), keyword("keyword_only", "both"), top_k=10)

    assert [hit.text for hit in hits][0] == "both"
    assert {hit.text for hit in hits} == {"both", "vector_only", "keyword_only"}


def test_scores_are_normalised_rrf():
    hits = {hit.text: hit for hit in fuse(vector("a", "b"), keyword("a"), top_k=10)}

    assert hits["a"].score == 1.0  # first for both
    assert hits["b"].score == pytest.approx((1 / 62) / (2 / 61))  # second for one, absent from the other
    assert hits["a"].vector_score == pytest.approx(0.9) and hits["a"].keyword_score == pytest.approx(0.75)
    assert hits["b"].keyword_score is None


def test_ties_are_stable():
    hits = fuse(vector("v1", "v2"), keyword("k1"), top_k=10)

    assert [hit.text for hit in hits] == ["k1", "v1", "v2"]  # by chunk id
    assert hits[0].score == hits[1].score == 0.5


def test_threshold_and_top_k():
    hits = fuse(vector("a", "b", "c"), keyword("a", "c"), top_k=2, score_threshold=0.5)

    assert [hit.text for hit in hits] == ["a", "c"]
    assert fuse(vector("a"), keyword(), top_k=5, score_threshold=0.51) == []


def test_hits_carry_position_and_metadata():
    [hit] = fuse(vector("a"), [], top_k=1)

    assert (hit.file, hit.chunk_index, hit.page, hit.metadata) == ("a.txt", 0, None, {"headings": "H"})


def test_keyword_relevance_is_monotonic_in_0_1():
    assert keyword_relevance(0.0) == 0.0
    assert keyword_relevance(-1.0) == 0.5
    assert keyword_relevance(-10.0) < keyword_relevance(-100.0) < 1.0


def test_a_chunk_with_no_matching_term_needs_min_similarity():
    from agent_service.knowledge.fusion import fuse
    from agent_service.knowledge.keyword_index import IndexedChunk, KeywordMatch
    from agent_service.knowledge.vector_store import VectorMatch

    near = IndexedChunk(id="a", file="a.txt", text="near", metadata={"chunk_index": 0})
    far = IndexedChunk(id="b", file="b.txt", text="far", metadata={"chunk_index": 0})
    keyword_only = IndexedChunk(id="c", file="c.txt", text="term", metadata={"chunk_index": 0})
    vector = [VectorMatch(chunk=near, cosine=0.6), VectorMatch(chunk=far, cosine=0.1)]
    keyword = [KeywordMatch(chunk=keyword_only, bm25=-2.0)]

    hits = fuse(vector, keyword, top_k=10, min_similarity=0.25)

    assert [hit.file for hit in hits] == ["a.txt", "c.txt"]
