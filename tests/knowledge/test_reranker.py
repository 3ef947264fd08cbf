"""The optional reranker, against a fake `/rerank` server on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from agent_service.knowledge.service import KnowledgeBaseService
from tests.fake_rerank import FakeReranker

FILES = [
    ("pump.txt", b"The pump hums when the valve is closed."),
    ("valve.txt", b"Close the valve before you open the pump housing to replace the seal."),
    ("garden.txt", b"Water the garden at dawn."),
]
QUERY = "open the pump housing"


@pytest.fixture
def reranker() -> Iterator[FakeReranker]:
    server = FakeReranker().start()
    yield server
    server.stop()


def reranked_service(make_service: Callable[..., KnowledgeBaseService], server: FakeReranker, **config):
    service = make_service(reranker={"base_url": server.url, "model": "bge-reranker", "api_key": "k", **config})
    service.create(name="kb")
    service.add_files(name="kb", files=FILES)
    return service


@pytest.mark.parametrize("tei", [False, True])
def test_the_reranker_reorders_and_scores_the_candidates(make_service, reranker: FakeReranker, tei: bool):
    reranker.tei = tei
    reranker.scores = {"Water the garden": 0.9}  # what the cross-encoder knows better
    plain = make_service()
    plain.create(name="plain")
    plain.add_files(name="plain", files=FILES)
    service = reranked_service(make_service, reranker, top_n=5)

    fused = plain.search(name="plain", query=QUERY, top_k=3, score_threshold=0)
    hits = service.search(name="kb", query=QUERY, top_k=3, score_threshold=0)

    assert [hit.file for hit in fused] == ["valve.txt", "pump.txt", "garden.txt"]
    assert [hit.file for hit in hits] == ["valve.txt", "garden.txt", "pump.txt"]
    assert [hit.score for hit in hits] == [1.0, 0.9, 0.5]  # the reranker's, in 0..1
    [request] = reranker.requests
    assert request["query"] == QUERY and request["model"] == "bge-reranker"
    assert sorted(request["documents"]) == sorted(data.decode() for _, data in FILES)


def test_the_threshold_applies_to_the_reranker_score(make_service, reranker: FakeReranker):
    service = reranked_service(make_service, reranker)

    assert [hit.file for hit in service.search(name="kb", query=QUERY, top_k=3, score_threshold=0.75)] == ["valve.txt"]


@pytest.mark.parametrize(("delay", "status"), [(2.0, 200), (0.0, 503)])
def test_a_slow_or_failing_reranker_leaves_the_fused_order(
    make_service, reranker: FakeReranker, caplog: pytest.LogCaptureFixture, delay: float, status: int
):
    reranker.delay, reranker.status = delay, status
    plain = make_service()
    plain.create(name="plain")
    plain.add_files(name="plain", files=FILES)
    service = reranked_service(make_service, reranker, timeout=0.3)

    with caplog.at_level(logging.WARNING, logger="agent_service.knowledge.reranker"):
        hits = service.search(name="kb", query=QUERY, top_k=3, score_threshold=0)

    fused = plain.search(name="plain", query=QUERY, top_k=3, score_threshold=0)
    assert [(hit.file, hit.score) for hit in hits] == [(hit.file, hit.score) for hit in fused]
    assert "reranker" in caplog.text and "keeping the fused order" in caplog.text
