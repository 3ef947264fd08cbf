"""Langchain-Chatchat 0.2's knowledge-base routes, called the way its client calls them."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.sse import parse_frames

PUMPS = b"Error E-7731 means the pump lost pressure. Check the valve first."


async def test_create_list_upload_search_delete(client: httpx.AsyncClient):
    created = (await client.post("/knowledge_base/create_knowledge_base", json={"knowledge_base_name": "kb1"})).json()
    assert created == {"code": 200, "msg": "已新增知识库 kb1", "data": None}
    listed = (await client.get("/knowledge_base/list_knowledge_bases")).json()
    assert listed == {"code": 200, "msg": "success", "data": ["kb1"]}

    form = {
        "knowledge_base_name": "kb1",
        "override": "false",
        "to_vector_store": "true",
        "chunk_size": "250",
        "chunk_overlap": "50",
        "zh_title_enhance": "false",
        "docs": "{}",
        "not_refresh_vs_cache": "false",
    }
    files = [("files", ("pumps.txt", PUMPS)), ("files", ("empty.txt", b""))]
    uploaded = (await client.post("/knowledge_base/upload_docs", data=form, files=files)).json()
    assert uploaded["code"] == 200 and uploaded["msg"] == "文件上传与向量化完成"
    assert list(uploaded["data"]["failed_files"]) == ["empty.txt"]
    again = (await client.post("/knowledge_base/upload_docs", data=form, files=files[:1])).json()
    assert again["data"]["failed_files"] == {"pumps.txt": "文件 pumps.txt 已存在。"}

    files_listed = (await client.get("/knowledge_base/list_files", params={"knowledge_base_name": "kb1"})).json()
    assert files_listed["data"] == ["pumps.txt"]

    found = await client.post("/knowledge_base/search_docs", json={"query": "E-7731", "knowledge_base_name": "kb1"})
    documents = found.json()
    assert isinstance(documents, list) and documents[0]["metadata"]["source"] == "pumps.txt"
    assert documents[0]["type"] == "Document" and 0 <= documents[0]["score"] < 1  # a distance: lower is closer
    assert documents[0]["page_content"] == PUMPS.decode()

    info = await client.post("/knowledge_base/update_info", json={"knowledge_base_name": "kb1", "kb_info": "Pumps"})
    assert info.json() == {"code": 200, "msg": "知识库介绍修改完成", "data": {"kb_info": "Pumps"}}

    download = await client.get(
        "/knowledge_base/download_doc", params={"knowledge_base_name": "kb1", "file_name": "pumps.txt"}
    )
    assert download.content == PUMPS

    deleted = (
        await client.post(
            "/knowledge_base/delete_docs", json={"knowledge_base_name": "kb1", "file_names": ["pumps.txt", "nope.txt"]}
        )
    ).json()
    assert deleted["msg"] == "文件删除完成" and deleted["data"]["failed_files"] == {"nope.txt": "未找到文件 nope.txt"}

    # Chatchat sends the name as a bare JSON string.
    removed = await client.post(
        "/knowledge_base/delete_knowledge_base", content=json.dumps("kb1"), headers={"content-type": "application/json"}
    )
    assert removed.json() == {"code": 200, "msg": "成功删除知识库 kb1", "data": None}


async def test_errors_come_in_the_envelope(client: httpx.AsyncClient):
    await client.post("/knowledge_base/create_knowledge_base", json={"knowledge_base_name": "kb1"})

    attack = await client.post("/knowledge_base/create_knowledge_base", json={"knowledge_base_name": "../etc"})
    blank = await client.post("/knowledge_base/create_knowledge_base", json={"knowledge_base_name": "  "})
    duplicate = await client.post("/knowledge_base/create_knowledge_base", json={"knowledge_base_name": "kb1"})
    missing = await client.get("/knowledge_base/list_files", params={"knowledge_base_name": "nope"})
    search_missing = await client.post("/knowledge_base/search_docs", json={"query": "x", "knowledge_base_name": "no"})

    assert attack.status_code == 200 and attack.json()["code"] == 403 and attack.json()["msg"] == "Don't attack me"
    assert blank.json() == {"code": 404, "msg": "知识库名称不能为空，请重新填写知识库名称", "data": None}
    assert duplicate.json()["code"] == 404 and duplicate.json()["msg"] == "已存在同名知识库 kb1"
    assert missing.json() == {"code": 404, "msg": "未找到知识库 nope", "data": []}
    assert search_missing.json() == []


async def test_recreate_vector_store_streams_progress(client: httpx.AsyncClient):
    await client.post("/knowledge_base/create_knowledge_base", json={"knowledge_base_name": "kb1"})
    form = {"knowledge_base_name": "kb1"}
    await client.post("/knowledge_base/upload_docs", data=form, files=[("files", ("pumps.txt", PUMPS))])

    response = await client.post("/knowledge_base/recreate_vector_store", json={"knowledge_base_name": "kb1"})
    missing = await client.post(
        "/knowledge_base/recreate_vector_store", json={"knowledge_base_name": "nope", "allow_empty_kb": False}
    )

    events = parse_frames(response.text)
    progress = [e for e in events if "finished" in e]
    assert progress and all(e["code"] == 200 and "total" in e for e in progress)
    assert progress[-1]["finished"] == progress[-1]["total"] and progress[-1]["doc"] == "pumps.txt"
    assert parse_frames(missing.text) == [{"code": 404, "msg": "未找到知识库 ‘nope’"}]


async def test_score_threshold_is_a_distance_here_and_a_relevance_on_our_routes(client: httpx.AsyncClient):
    await client.post("/knowledge_base/create_knowledge_base", json={"knowledge_base_name": "kb1"})
    files = [("files", ("pumps.txt", PUMPS)), ("files", ("garden.txt", b"Water the roses at dawn in summer."))]
    await client.post("/knowledge_base/upload_docs", data={"knowledge_base_name": "kb1"}, files=files)
    question = {"query": "What does error E-7731 mean?", "top_k": 3}

    async def chatchat(threshold: float) -> list[dict]:
        body = question | {"knowledge_base_name": "kb1", "score_threshold": threshold}
        return (await client.post("/knowledge_base/search_docs", json=body)).json()

    async def ours(threshold: float) -> list[dict]:
        body = question | {"score_threshold": threshold}
        return (await client.post("/knowledge_bases/kb1/search", json=body)).json()

    everything = await ours(0.0)
    relevance = {hit["file"]: hit["score"] for hit in everything}
    assert list(relevance) == ["pumps.txt", "garden.txt"] and relevance["pumps.txt"] > 0.5 > relevance["garden.txt"]

    # Chatchat's default, distance 1.0, keeps both; ours, relevance 1.0, keeps neither.
    assert [doc["metadata"]["source"] for doc in await chatchat(1.0)] == ["pumps.txt", "garden.txt"]
    assert await ours(1.0) == []
    # Distance 0.5 is relevance 0.5, our routes' default.
    close = await chatchat(0.5)
    assert [doc["metadata"]["source"] for doc in close] == ["pumps.txt"]
    assert close[0]["score"] == pytest.approx(1 - relevance["pumps.txt"], abs=1e-6)
    default = (await client.post("/knowledge_bases/kb1/search", json=question)).json()
    assert [hit["file"] for hit in default] == ["pumps.txt"]


@pytest.mark.parametrize(("delete_content", "kept"), [(False, True), (True, False)])
async def test_delete_docs_keeps_the_file_on_disk_unless_told_to_delete_content(
    client: httpx.AsyncClient, app, delete_content: bool, kept: bool
):
    await client.post("/knowledge_base/create_knowledge_base", json={"knowledge_base_name": "kb1"})
    form = {"knowledge_base_name": "kb1"}
    await client.post("/knowledge_base/upload_docs", data=form, files=[("files", ("pumps.txt", PUMPS))])
    on_disk = app.state.services.settings.kb_root / "kb1" / "content" / "pumps.txt"
    assert on_disk.read_bytes() == PUMPS

    deleted = await client.post(
        "/knowledge_base/delete_docs",
        json={"knowledge_base_name": "kb1", "file_names": ["pumps.txt"], "delete_content": delete_content},
    )

    assert deleted.json()["data"]["failed_files"] == {}
    listed = (await client.get("/knowledge_base/list_files", params={"knowledge_base_name": "kb1"})).json()
    assert listed["data"] == []  # out of the base and its indexes either way
    found = await client.post("/knowledge_base/search_docs", json={"query": "E-7731", "knowledge_base_name": "kb1"})
    assert found.json() == []
    assert on_disk.exists() is kept
