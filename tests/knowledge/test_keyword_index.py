"""The keyword index: segmentation, persistence, deletes, Chinese."""

from __future__ import annotations

from pathlib import Path

from agent_service.knowledge.keyword_index import IndexedChunk, KeywordIndex, match_expression, segment


def chunk(id_: str, file: str, text: str) -> IndexedChunk:
    return IndexedChunk(id=id_, file=file, text=text, metadata={"chunk_index": 0})


def test_codes_and_identifiers_stay_whole():
    assert segment("Error E-7731 in gpt-4o v1.2.3 (snake_case).") == [
        "error",
        "e-7731",
        "in",
        "gpt-4o",
        "v1.2.3",
        "snake_case",
    ]


def test_chinese_is_segmented_into_words_and_their_parts():
    assert segment("知识库支持中文检索") == ["知识", "知识库", "支持", "中文", "检索"]
    assert segment("知识库支持中文检索", for_query=True) == ["知识库", "支持", "中文", "检索"]


def test_queries_drop_function_words_unless_nothing_else_is_left():
    assert match_expression("What is the error E-7731?") == '"error" OR "e-7731"'
    assert match_expression("如何使用知识库") == '"使用" OR "知识库"'
    assert match_expression("to be or not") == '"to" OR "be" OR "or" OR "not"'
    assert match_expression("?!") == ""


def test_index_persists_and_deletes_by_file(tmp_path: Path):
    path = tmp_path / "keyword_index.db"
    KeywordIndex(path).add([chunk("1", "a.txt", "Pump error E-7731"), chunk("2", "b.txt", "水泵故障 E-7731")])

    reopened = KeywordIndex(path)
    found = [match.chunk.file for match in reopened.search("e-7731", limit=10)]
    reopened.delete_file("a.txt")

    assert sorted(found) == ["a.txt", "b.txt"]
    assert [match.chunk.id for match in reopened.search("E-7731 故障", limit=10)] == ["2"]
    assert reopened.search("pump", limit=10) == []
    assert (reopened.count(), reopened.count("a.txt")) == (1, 0)


def test_rarer_terms_rank_higher(tmp_path: Path):
    index = KeywordIndex(tmp_path / "k.db")
    index.add([chunk(str(n), f"{n}.txt", "pump seal" if n == 0 else "pump") for n in range(5)])

    matches = index.search("pump seal", limit=10)

    assert matches[0].chunk.id == "0" and matches[0].bm25 < matches[1].bm25 < 0
