"""Names become one path component under the KB root, or are refused."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from agent_service.knowledge.errors import InvalidNameError
from agent_service.knowledge.names import NOT_BLANK, KnowledgeBasePaths, validate_file_name, validate_kb_name


@pytest.mark.parametrize("name", ["手册", "Product docs (v2)", "a..b", ".hidden", "x" * 100])
def test_ordinary_knowledge_base_names(name: str):
    assert validate_kb_name(name) == name


@pytest.mark.parametrize("name", ["报告 2024.PDF", "notes..txt", "a b.md", "é.txt"])
def test_ordinary_file_names(name: str):
    assert validate_file_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("..", "path"),
        ("../x", "path"),
        ("x/..", "path"),
        ("/abs", "path"),
        ("\\\\server\\share", "path"),
        ("a\x00b", "control"),
        ("tab\there", "control"),
        ("x" * 101, "longer"),
        (" x", "spaces"),
    ],
)
def test_names_refused(name: str, message: str):
    with pytest.raises(InvalidNameError, match=message):
        validate_kb_name(name)


def test_long_file_names_are_measured_in_bytes():
    validate_file_name("字" * 85)  # 255 bytes
    with pytest.raises(InvalidNameError, match="bytes"):
        validate_file_name("字" * 86)


def test_paths_stay_under_the_root(tmp_path: Path):
    paths = KnowledgeBasePaths.under(tmp_path, "kb")

    assert paths.root == (tmp_path / "kb").resolve()
    assert paths.file("a.txt") == (tmp_path / "kb" / "content" / "a.txt").resolve()
    with pytest.raises(InvalidNameError):
        paths.file("../keyword_index.db")


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path):
    paths = KnowledgeBasePaths.under(tmp_path, "kb")
    paths.content.mkdir(parents=True)
    (paths.content / "link.txt").symlink_to(tmp_path / "elsewhere.txt")

    with pytest.raises(InvalidNameError):
        paths.file("link.txt")


def test_the_schemas_not_blank_is_what_strip_leaves_something_of():
    """The schema's pattern for "has text" and the routes' `text.strip()` agree on every character."""
    disagree = [
        hex(code) for code in range(sys.maxunicode + 1) if bool(re.search(NOT_BLANK, chr(code))) is chr(code).isspace()
    ]

    assert disagree == []
