"""Knowledge bases on the shared stores: the keyword index in PostgreSQL, vectors on
a Chroma server, writers taking turns through PostgreSQL. The same content gives
the same ranking as on the embedded stores; replicas upload, search, download and
delete through one another; a replica's start-up leaves a base another one is
writing alone."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from agent_service.api.app import create_app
from agent_service.knowledge import crud as kb_crud
from agent_service.knowledge.models import KnowledgeFile
from tests.asgi import asgi_client
from tests.conftest import REPO
from tests.db.postgres import postgres_bin, postgres_server
from tests.fake_openai import FakeOpenAI
from tests.servers import chroma_server, redis_bin, redis_server
from tests.service_process import Service

pytestmark = pytest.mark.skipif(
    postgres_bin() is None or redis_bin() is None or (os.geteuid() == 0 and shutil.which("runuser") is None),
    reason="PostgreSQL and Redis servers are needed (make test installs them where it can)",
)

SAMPLES = sorted((REPO / "knowledge_base" / "samples" / "content").iterdir())
QUESTIONS = [
    "Which port does agent-service use?",
    "How do I add a tool?",
    "AGENT_SERVICE_DATA_DIR",
    "知识库",
    "what is the default model",
    "environment variables for the database",
]


@pytest.fixture(scope="module")
def stores() -> Iterator[dict[str, str]]:
    with postgres_server() as database, redis_server() as redis, chroma_server() as chroma:
        yield {"database_url": database, "redis_url": redis, "chroma_url": chroma}


async def ranking(app) -> list[list[tuple[str, int, float]]]:  # noqa: ANN001 - a FastAPI app
    async with asgi_client(app) as http:
        await http.post("/knowledge_bases", json={"name": "samples"})
        files = [("files", (path.name, path.read_bytes())) for path in SAMPLES]
        uploaded = await http.post("/knowledge_bases/samples/files", files=files)
        assert uploaded.status_code == 200, uploaded.text
        found = []
        for question in QUESTIONS:
            body = {"query": question, "top_k": 8, "score_threshold": 0}
            hits = (await http.post("/knowledge_bases/samples/search", json=body)).json()
            found.append([(hit["file"], hit["chunk_index"], round(hit["score"], 4)) for hit in hits])
    app.state.services.close()
    return found


async def test_the_samples_rank_the_same_on_shared_and_embedded_stores(make_settings, tmp_path: Path, stores):
    embedded = create_app(make_settings(kb_root=tmp_path / "embedded"))
    shared = create_app(
        make_settings(
            kb_root=tmp_path / "shared",
            database_url=stores["database_url"],
            chroma_url=stores["chroma_url"],
        )
    )

    on_embedded, on_shared = await ranking(embedded), await ranking(shared)

    assert all(on_embedded) and on_shared == on_embedded
    with shared.state.services.db.engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM keyword_chunk WHERE kb = 'samples'")).scalar()
    assert stored > 0 and not (tmp_path / "shared" / "samples" / "keyword_index.db").exists()


def test_replicas_share_a_knowledge_base(tmp_path: Path, upstream: FakeOpenAI, stores):
    env = {
        "AGENT_SERVICE_DATABASE_URL": stores["database_url"],
        "AGENT_SERVICE_REDIS_URL": stores["redis_url"],
        "AGENT_SERVICE_CHROMA_URL": stores["chroma_url"],
    }
    a, b = Service(tmp_path, upstream, **env).start(), Service(tmp_path, upstream, **env).start()
    try:
        created = httpx.post(f"{a.url}/knowledge_bases", json={"name": "manuals"})
        pump = ("pump.md", b"# Pump\n\nError E-7731 means the pump lost pressure. Check the valve first.\n")
        filters = ("filter.md", b"# Filter\n\nRinse the filter with warm water every month.\n")
        # Two replicas write one base at once: they take turns, and both files are indexed.
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            uploads = [
                pool.submit(httpx.post, f"{a.url}/knowledge_bases/manuals/files", files=[("files", pump)], timeout=60),
                pool.submit(
                    httpx.post, f"{b.url}/knowledge_bases/manuals/files", files=[("files", filters)], timeout=60
                ),
            ]
            assert all(upload.result().status_code == 200 for upload in uploads)
        listed = httpx.get(f"{b.url}/knowledge_bases/manuals/files").json()
        hits = httpx.post(
            f"{b.url}/knowledge_bases/manuals/search", json={"query": "What does E-7731 mean?", "score_threshold": 0}
        ).json()
        upstream.enqueue("It means lost pressure [1].")
        chat = httpx.post(
            f"{b.url}/chat/knowledge_base_chat",
            json={"query": "What does E-7731 mean?", "knowledge_base_name": "manuals", "model_name": "gpt-test"},
        ).json()
        download = httpx.get(f"{b.url}/knowledge_bases/manuals/files/pump.md")
        deleted = httpx.delete(f"{b.url}/knowledge_bases/manuals/files/pump.md")
        after = httpx.post(
            f"{a.url}/knowledge_bases/manuals/search", json={"query": "What does E-7731 mean?", "score_threshold": 0}
        ).json()
    finally:
        a.stop()
        b.stop()

    assert created.status_code in (200, 201)
    assert sorted((f["name"], f["status"]) for f in listed) == [("filter.md", "indexed"), ("pump.md", "indexed")]
    assert hits[0]["file"] == "pump.md"
    assert chat["sources"][0]["file"] == "pump.md"
    assert download.content == pump[1]
    assert deleted.status_code in (200, 204)
    assert all(hit["file"] != "pump.md" for hit in after)


async def test_start_up_leaves_a_base_that_another_replica_writes(make_settings, tmp_path: Path, stores):
    app = create_app(make_settings(kb_root=tmp_path / "kb", database_url=stores["database_url"]))
    services = app.state.services
    services.knowledge.create(name="busy")
    kb = services.db.transact(kb_crud.get_kb, name="busy")
    row = KnowledgeFile(kb_id=kb.id, name="half.md", size=1, sha256="x" * 64, chunk_size=500, chunk_overlap=50)
    services.db.transact(kb_crud.save_file, row=row)
    other_replica = services.db.engine.connect()  # holds the base's turn, as a replica that is indexing does
    other_replica.execute(text("SELECT pg_advisory_lock(hashtext('agent-service:knowledge-base:busy'))"))

    while_written = services.knowledge.fail_interrupted_files()
    other_replica.close()  # that replica died: the database lets its turn go
    after_it_died = services.knowledge.fail_interrupted_files()
    app.state.services.close()

    assert while_written == [] and after_it_died == ["busy/half.md"]
