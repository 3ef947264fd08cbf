"""Hybrid search finds what either half alone would miss, in English and Chinese.

The fake embeddings compare words and their character trigrams, so they
stand in for a real model on "same idea, other form" and miss exact codes
among look-alikes, as real embeddings do.
"""

from __future__ import annotations

import math

import pytest

from agent_service.knowledge.embeddings import HashedEmbeddings
from agent_service.knowledge.service import KnowledgeBaseService

PUMP = "Error E-7731 means the coolant pump lost pressure. Check the seal, then restart the pump."
CODES = "Heater codes: E-7730, E-7732, E-7733, E-7734, E-7735 and E-7736."
ROUTER = "To reboot the router, hold the reset button for ten seconds."
CHINESE = "知识库支持中文检索。上传文件后，系统会自动切分文本并建立索引。"


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def make_kb(service: KnowledgeBaseService) -> None:
    service.create(name="support")
    service.add_files(
        name="support",
        files=[
            ("pump.txt", PUMP.encode()),
            ("codes.txt", CODES.encode()),
            ("router.txt", ROUTER.encode()),
            ("中文.txt", CHINESE.encode("gb18030")),
        ],
    )


def test_an_exact_code_that_vectors_miss_is_found_by_keyword(service: KnowledgeBaseService):
    make_kb(service)
    embeddings = HashedEmbeddings()
    query = embeddings.embed_query("E-7731")
    # The vector half alone prefers the list of look-alike codes.
    assert cosine(query, embeddings.embed_query(CODES)) > cosine(query, embeddings.embed_query(PUMP))

    hits = service.search(name="support", query="E-7731", top_k=2)

    assert [hit.file for hit in hits] == ["pump.txt", "codes.txt"]
    assert hits[0].keyword_score is not None and hits[1].keyword_score is None
    assert hits[0].score > hits[1].score


def test_a_rephrasing_that_keywords_miss_is_found_by_vector(service: KnowledgeBaseService):
    make_kb(service)

    [hit] = service.search(name="support", query="rebooting routers", top_k=1)

    assert hit.file == "router.txt" and hit.text == ROUTER
    assert hit.keyword_score is None  # neither "rebooting" nor "routers" is in the text
    assert hit.vector_score is not None and hit.score > 0.5  # relevant on similarity alone


def test_chinese_keywords_match_words_inside_longer_words(service: KnowledgeBaseService):
    make_kb(service)

    for query in ("中文检索", "如何建立索引？", "知识"):
        [hit] = service.search(name="support", query=query, top_k=1)
        assert hit.file == "中文.txt" and hit.keyword_score is not None, query


def test_the_chunk_asked_for_word_for_word_scores_near_one(service: KnowledgeBaseService):
    make_kb(service)

    hits = service.search(name="support", query=ROUTER, top_k=4, score_threshold=0)

    assert hits[0].file == "router.txt" and hits[0].score > 0.99
    assert (hits[0].vector_score, hits[0].keyword_score) == (pytest.approx(1.0), 1.0)
    assert all(0 <= hit.score <= 1 for hit in hits)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_score_threshold_drops_hits_below_it(service: KnowledgeBaseService):
    make_kb(service)

    everything = service.search(name="support", query="E-7731", top_k=4, score_threshold=0)
    relevant = service.search(name="support", query="E-7731", top_k=4)  # the default threshold, 0.5

    assert len(everything) == 4
    assert relevant == [hit for hit in everything if hit.score >= 0.5]
    assert [hit.file for hit in relevant] == ["pump.txt", "codes.txt"]  # the router and the Chinese text are not


def test_a_question_the_base_cannot_answer_finds_nothing(service: KnowledgeBaseService):
    make_kb(service)

    assert service.search(name="support", query="bananas and apples", top_k=3) == []
