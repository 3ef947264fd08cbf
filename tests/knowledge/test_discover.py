"""The shipped `samples` base (or any base folder copied in) is indexed at start-up."""

from __future__ import annotations

import shutil
from pathlib import Path

from agent_service.api.app import create_app
from agent_service.knowledge import crud
from agent_service.knowledge.keyword_index import KeywordIndex
from tests.asgi import asgi_client
from tests.conftest import REPO


async def test_samples_are_indexed_on_first_start(make_settings, tmp_path: Path):
    kb_root = tmp_path / "knowledge_base"
    shutil.copytree(REPO / "knowledge_base" / "samples" / "content", kb_root / "samples" / "content")
    shutil.copy(REPO / "knowledge_base" / "samples" / "description.txt", kb_root / "samples")
    app = create_app(make_settings(kb_root=kb_root))

    async with app.router.lifespan_context(app):
        app.state.discovery.join(timeout=60)
        async with asgi_client(app) as client:
            samples = (await client.get("/knowledge_bases/samples")).json()
            files = (await client.get("/knowledge_bases/samples/files")).json()
            hits = (await client.post("/knowledge_bases/samples/search", json={"query": "default port 7861"})).json()

    assert samples["description"].startswith("About agent-service")
    assert {f["name"] for f in files} == {"overview.md", "configuration.md", "faq_zh.md"}
    assert all(f["status"] == "indexed" for f in files)
    assert hits[0]["file"] == "configuration.md"


async def test_a_second_start_changes_nothing(make_settings, tmp_path: Path):
    kb_root = tmp_path / "knowledge_base"
    (kb_root / "mine" / "content").mkdir(parents=True)
    (kb_root / "mine" / "content" / "a.txt").write_text("alpha beta gamma")
    for _ in range(2):
        app = create_app(make_settings(kb_root=kb_root))
        async with app.router.lifespan_context(app):
            app.state.discovery.join(timeout=60)
            files = app.state.services.knowledge.list_files(name="mine")

    assert [(f.name, f.status) for f in files] == [("a.txt", "indexed")]


async def test_a_file_left_half_indexed_by_a_crash_is_failed_at_the_next_start(make_settings):
    settings = make_settings()
    first = create_app(settings)
    async with asgi_client(first) as client:
        await client.post("/knowledge_bases", json={"name": "manuals"})
        files = [("files", ("pump.md", b"Error E-7731 means lost pressure.")), ("files", ("fan.md", b"Fans hum."))]
        await client.post("/knowledge_bases/manuals/files", files=files)
    # The service stops while pump.md is being indexed: its row says so, some chunks are stored.
    with first.state.services.db.session() as session:
        kb = crud.get_kb(session=session, name="manuals")
        row = crud.find_file(session=session, kb_id=kb.id, name="pump.md")
        row.status = "indexing"
        session.add(row)
        session.commit()
    first.state.services.close()

    second = create_app(settings)
    async with asgi_client(second) as client:
        files = {f["name"]: f for f in (await client.get("/knowledge_bases/manuals/files")).json()}
        hits = (await client.post("/knowledge_bases/manuals/search", json={"query": "E-7731 pressure"})).json()
    second.state.services.close()

    assert files["pump.md"]["status"] == "failed" and "stopped while indexing" in files["pump.md"]["error"]
    assert files["fan.md"]["status"] == "indexed"
    assert all(hit["file"] != "pump.md" for hit in hits)
    assert KeywordIndex(settings.kb_root / "manuals" / "keyword_index.db").count("pump.md") == 0


async def test_a_keyword_index_made_by_an_older_version_is_upgraded_at_start(make_settings, tmp_path: Path):
    import sqlite3

    kb_root = tmp_path / "knowledge_base"
    (kb_root / "api" / "content").mkdir(parents=True)
    (kb_root / "api" / "content" / "ws.md").write_text("Compare msg.type with web.WSMsgType.TEXT first.")
    settings = make_settings(kb_root=kb_root)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.discovery.join(timeout=60)
    with sqlite3.connect(kb_root / "api" / "keyword_index.db") as connection:  # whole names only, as before
        connection.execute("UPDATE chunk_terms SET terms = 'compare msg.type with web.wsmsgtype.text first'")
        connection.execute("PRAGMA user_version = 1")

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.discovery.join(timeout=60)
        async with asgi_client(app) as client:
            hits = (
                await client.post("/knowledge_bases/api/search", json={"query": "WSMsgType", "score_threshold": 0})
            ).json()

    assert [hit["file"] for hit in hits] == ["ws.md"] and hits[0]["keyword_score"] == 1.0
