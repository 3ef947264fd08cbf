"""Uploads and searches from many threads, as the API's worker threads make them, and
searches from many tasks at once, as concurrent knowledge-base chats make them."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from agent_service.knowledge.errors import KnowledgeBaseNotFoundError
from agent_service.knowledge.keyword_index import KeywordIndex
from agent_service.knowledge.service import KnowledgeBaseService


def test_concurrent_uploads_and_searches_leave_the_stores_agreeing(service: KnowledgeBaseService):
    service.create(name="kb")
    service.add_files(name="kb", files=[("seed.txt", b"Seed text about pumps.")])

    def upload(n: int) -> str:
        text = " ".join(f"Document {n} sentence {m} about valve {n * 100 + m}." for m in range(40))
        [result] = service.add_files(name="kb", files=[(f"doc{n}.txt", text.encode())], chunk_size=120)
        return result.status

    def search(n: int) -> int:
        return len(service.search(name="kb", query=f"valve {n}", top_k=5))

    with ThreadPoolExecutor(max_workers=6) as pool:
        uploads = [pool.submit(upload, n) for n in range(6)]
        searches = [pool.submit(search, n) for n in range(12)]
        statuses = [future.result() for future in uploads]
        found = [future.result() for future in searches]

    assert statuses == ["indexed"] * 6 and all(count >= 1 for count in found)
    chunks = sum(f.chunk_count for f in service.list_files(name="kb"))
    assert service.get(name="kb").chunk_count == chunks
    assert service._vector_index("kb").count() == chunks
    assert KeywordIndex(service.kb_root / "kb" / "keyword_index.db").count() == chunks


async def test_concurrent_searches_share_one_embedding_call_and_each_gets_its_own_hits(
    service: KnowledgeBaseService, monkeypatch
):
    service.create(name="pumps")
    service.add_files(name="pumps", files=[("pumps.md", b"Error E-7731 means the pump lost pressure.")])
    service.create(name="filters")
    service.add_files(name="filters", files=[("filters.md", b"Rinse the filter with warm water every month.")])
    questions = [("pumps", "What is E-7731?"), ("filters", "How do I rinse the filter?"), ("pumps", "pump pressure")]
    alone = [service.search(name=kb, query=query) for kb, query in questions]

    embedded: list[list[str]] = []
    embed = service.embeddings.embed_documents
    monkeypatch.setattr(service.embeddings, "embed_documents", lambda texts: embedded.append(texts) or embed(texts))
    together = await asyncio.gather(
        *(service.asearch(name=kb, query=query) for kb, query in questions),
        service.asearch(name="missing", query="anything"),
        return_exceptions=True,
    )

    assert together[:3] == alone
    assert [hit.file for hit in together[1]] == ["filters.md"]
    assert isinstance(together[3], KnowledgeBaseNotFoundError)
    assert len(embedded) == 1 and sorted(embedded[0]) == sorted(query for _, query in questions)
