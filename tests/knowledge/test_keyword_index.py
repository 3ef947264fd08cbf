"""The keyword index: segmentation, identifiers, coverage, persistence, deletes, Chinese."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent_service.knowledge.keyword_index import IndexedChunk, KeywordIndex
from agent_service.knowledge.tokenize import query_terms, segment


def chunk(id_: str, file: str, text: str) -> IndexedChunk:
    return IndexedChunk(id=id_, file=file, text=text, metadata={"chunk_index": 0})


def test_codes_and_identifiers_are_kept_whole_and_split_into_parts():
    assert segment("Error E-7731 in gpt-4o v1.2.3 (snake_case).") == [
        "error",
        "e-7731",
        "7731",
        "in",
        "gpt-4o",
        "gpt",
        "4o",
        "v1.2.3",
        "v1",
        "snake_case",
        "snake",
        "case",
    ]
    assert segment("web.WSMsgType.TEXT") == ["web.wsmsgtype.text", "web", "wsmsgtype", "ws", "msg", "type", "text"]
    assert segment("WSMsgType getHTTPResponse") == [
        "wsmsgtype",
        "ws",
        "msg",
        "type",
        "gethttpresponse",
        "get",
        "http",
        "response",
    ]
    assert segment("--log-level debug") == ["log-level", "log", "level", "debug"]


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("WSMsgType", "Compare msg.type with web.WSMsgType.TEXT before reading msg.data."),
        ("refresh_buffer_seconds", "Set refresh_buffer_seconds to 30 to refresh tokens early."),
        ("--log-level", "Run the server with --log-level=debug to see each request."),
        ("buffer seconds", "Set refresh_buffer_seconds to 30 to refresh tokens early."),
        ("msg type", "Compare with web.WSMsgType.TEXT first."),
    ],
)
def test_identifiers_are_found_by_their_name_or_their_parts(tmp_path: Path, query: str, text: str):
    index = KeywordIndex(tmp_path / "k.db")
    index.add([chunk("1", "api.md", text), chunk("2", "other.md", "Unrelated notes about the weather.")])

    assert [match.chunk.file for match in index.search(query, limit=5).matches] == ["api.md"]


def test_chinese_is_segmented_into_words_and_their_parts():
    assert segment("知识库支持中文检索") == ["知识", "知识库", "支持", "中文", "检索"]
    assert segment("知识库支持中文检索", for_query=True) == ["知识库", "支持", "中文", "检索"]


def test_queries_drop_function_words_unless_nothing_else_is_left():
    assert query_terms("What is the error E-7731?") == ["error", "e-7731", "7731"]
    assert query_terms("如何使用知识库") == ["使用", "知识库"]
    assert query_terms("to be or not") == ["to", "be", "or", "not"]
    assert query_terms("?!") == []


def test_index_persists_and_deletes_by_file(tmp_path: Path):
    path = tmp_path / "keyword_index.db"
    KeywordIndex(path).add([chunk("1", "a.txt", "Pump error E-7731"), chunk("2", "b.txt", "水泵故障 E-7731")])

    reopened = KeywordIndex(path)
    found = [match.chunk.file for match in reopened.search("e-7731", limit=10).matches]
    reopened.delete_file("a.txt")

    assert sorted(found) == ["a.txt", "b.txt"]
    assert [match.chunk.id for match in reopened.search("E-7731 故障", limit=10).matches] == ["2"]
    assert reopened.search("pump", limit=10).matches == []
    assert (reopened.count(), reopened.count("a.txt")) == (1, 0)


def test_rarer_terms_rank_higher(tmp_path: Path):
    index = KeywordIndex(tmp_path / "k.db")
    index.add([chunk(str(n), f"{n}.txt", "pump seal" if n == 0 else "pump") for n in range(5)])

    matches = index.search("pump seal", limit=10).matches

    assert matches[0].chunk.id == "0" and matches[0].bm25 < matches[1].bm25 < 0


def test_coverage_is_the_idf_weighted_share_of_the_query_a_chunk_holds(tmp_path: Path):
    index = KeywordIndex(tmp_path / "k.db")
    index.add([chunk(str(n), f"{n}.txt", "pump seal" if n == 0 else "pump") for n in range(5)])

    result = index.search("pump seal", limit=10, also_cover=["3"])
    unknown = index.search("pump sourdough", limit=10)

    assert result.coverage["0"] == 1.0
    assert 0 < result.coverage["1"] == result.coverage["3"] < 0.5  # "pump" is common, "seal" rare
    assert unknown.coverage["1"] < result.coverage["1"]  # a term the base never uses weighs the most


def test_an_index_made_before_names_were_split_is_resegmented(tmp_path: Path):
    path = tmp_path / "k.db"
    KeywordIndex(path).add([chunk("1", "api.md", "Use web.WSMsgType.TEXT")])
    with sqlite3.connect(path) as connection:  # as the previous version indexed it: whole names only
        connection.execute("UPDATE chunk_terms SET terms = 'use web.wsmsgtype.text'")
        connection.execute("PRAGMA user_version = 1")
    assert KeywordIndex(path).search("WSMsgType", limit=5).matches == []

    KeywordIndex(path).upgrade()

    assert [match.chunk.id for match in KeywordIndex(path).search("WSMsgType", limit=5).matches] == ["1"]
