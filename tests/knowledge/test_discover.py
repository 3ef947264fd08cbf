"""The shipped `samples` base (or any base folder copied in) is indexed at start-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from agent_service.api.app import create_app
from tests.conftest import REPO


async def test_samples_are_indexed_on_first_start(make_settings, tmp_path: Path):
    kb_root = tmp_path / "knowledge_base"
    shutil.copytree(REPO / "knowledge_base" / "samples" / "content", kb_root / "samples" / "content")
    shutil.copy(REPO / "knowledge_base" / "samples" / "description.txt", kb_root / "samples")
    app = create_app(make_settings(kb_root=kb_root))

    async with app.router.lifespan_context(app):
        app.state.discovery.join(timeout=60)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
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
