"""A base's files in its `content/` folder: written whole, read, listed, deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_service.knowledge.errors import InvalidNameError, KnowledgeFileNotFoundError
from agent_service.knowledge.files import DirectoryFileStore
from agent_service.knowledge.names import KnowledgeBasePaths


@pytest.fixture
def files(tmp_path: Path) -> DirectoryFileStore:
    return DirectoryFileStore(KnowledgeBasePaths.under(tmp_path, "kb"))


def test_a_file_is_written_read_replaced_and_deleted(files: DirectoryFileStore, tmp_path: Path):
    files.write("b.txt", b"bravo")
    files.write("a.txt", b"alpha")
    files.write("a.txt", b"alpha, again")

    assert files.names() == ["a.txt", "b.txt"]
    assert files.read("a.txt") == b"alpha, again"
    assert files.path("b.txt") == tmp_path / "kb" / "content" / "b.txt"
    assert sorted(path.name for path in (tmp_path / "kb").iterdir()) == ["content"]  # no temporary file left

    files.delete("a.txt")
    files.delete("a.txt")  # already gone: nothing to do

    assert files.names() == ["b.txt"]
    with pytest.raises(KnowledgeFileNotFoundError):
        files.path("a.txt")


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary_one(files: DirectoryFileStore, tmp_path: Path):
    files.write("a.txt", b"alpha")
    (tmp_path / "kb" / "content" / "folder").mkdir()

    with pytest.raises(OSError):
        files.write("folder", b"cannot replace a folder")

    assert files.read("a.txt") == b"alpha"
    assert sorted(path.name for path in (tmp_path / "kb").iterdir()) == ["content"]
    assert files.names() == ["a.txt"]  # folders are not files


def test_create_keeps_files_copied_in_and_destroy_removes_the_base_folder(files: DirectoryFileStore, tmp_path: Path):
    (tmp_path / "kb" / "content").mkdir(parents=True)
    (tmp_path / "kb" / "content" / "copied.md").write_text("by hand")

    files.create()
    assert files.names() == ["copied.md"]

    files.destroy()
    assert not (tmp_path / "kb").exists()
    files.destroy()  # nothing left: nothing to do


@pytest.mark.parametrize("name", ["../escape.txt", "..", "a/b.txt", " padded.txt"])
def test_names_that_leave_the_folder_are_refused(files: DirectoryFileStore, tmp_path: Path, name: str):
    with pytest.raises(InvalidNameError):
        files.write(name, b"data")
    with pytest.raises(InvalidNameError):
        files.read(name)
    assert not (tmp_path / "escape.txt").exists()
