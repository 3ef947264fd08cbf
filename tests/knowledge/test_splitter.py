"""Chunks: sentence boundaries in Chinese and English, headings, positions."""

from __future__ import annotations

from langchain_core.documents import Document

from agent_service.knowledge.loaders import LoadedFile, load_file
from agent_service.knowledge.splitter import markdown_sections, split_file


def test_chinese_text_splits_after_sentence_ends():
    text = "第一句话讲的是水泵的安装。第二句话讲的是水泵的维修！第三句话问的是保修期多长？"
    _, chunks = split_file("a.txt", LoadedFile("text", [Document(text)]), chunk_size=20, chunk_overlap=0)

    assert [c.page_content for c in chunks] == [
        "第一句话讲的是水泵的安装。",
        "第二句话讲的是水泵的维修！",
        "第三句话问的是保修期多长？",
    ]


def test_english_text_splits_after_sentence_ends():
    text = "The pump is installed first. Then the seal is checked! Does the warranty cover it? Yes."
    _, chunks = split_file("a.txt", LoadedFile("text", [Document(text)]), chunk_size=40, chunk_overlap=0)

    assert all(c.page_content.endswith((".", "!", "?")) for c in chunks)
    assert " ".join(c.page_content for c in chunks) == text


def test_chunks_know_their_file_position_and_page():
    from tests.knowledge.documents import make_pdf

    loaded = load_file("m.pdf", make_pdf([["Page one text."], ["Page two text."]]))
    splitter, chunks = split_file("m.pdf", loaded, chunk_size=500, chunk_overlap=50)

    assert splitter == "recursive"
    assert [c.metadata for c in chunks] == [
        {"page": 1, "file": "m.pdf", "chunk_index": 0},
        {"page": 2, "file": "m.pdf", "chunk_index": 1},
    ]


def test_markdown_headings_go_to_metadata_and_stay_in_text():
    text = (
        "Intro.\n\n# Guide\n\nStart here.\n\n```\n# not a heading\n```\n\n## Install\n\nRun it.\n\n# Appendix\n\nEnd.\n"
    )
    splitter, chunks = split_file(
        "g.md", LoadedFile("markdown", [Document(text)], markdown=True), chunk_size=500, chunk_overlap=0
    )

    assert splitter == "markdown+recursive"
    assert [(c.page_content, c.metadata.get("headings")) for c in chunks] == [
        ("Intro.", None),
        ("# Guide\n\nStart here.\n\n```\n# not a heading\n```", "Guide"),
        ("## Install\n\nRun it.", "Guide > Install"),
        ("# Appendix\n\nEnd.", "Appendix"),
    ]


def test_markdown_sections_keep_the_loaders_metadata():
    [section] = markdown_sections(Document("# T\n\nx", metadata={"title": "Page"}))

    assert section.metadata == {"title": "Page", "headings": "T"}
