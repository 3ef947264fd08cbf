"""Requests the service refuses: each gets an error with a status code and a
message, and leaves the database, the folder and the indexes as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_service.errors import ServiceError
from agent_service.knowledge.errors import (
    EmptyFileError,
    EmptyKnowledgeBaseError,
    FileTooLargeError,
    InvalidNameError,
    KnowledgeBaseExistsError,
    KnowledgeBaseNotFoundError,
    KnowledgeFileNotFoundError,
)
from agent_service.knowledge.service import KnowledgeBaseService

TRAVERSALS = ["..", ".", "../outside", "a/b", "a\\b", "/etc/passwd", "C:\\x", "nul\x00byte", "", "   ", " padded"]


def tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*")) if root.exists() else []


@pytest.mark.parametrize("name", TRAVERSALS)
def test_knowledge_base_names_that_leave_their_folder_are_refused(service: KnowledgeBaseService, name: str):
    with pytest.raises(InvalidNameError) as refused:
        service.create(name=name)

    assert refused.value.status_code == 400
    assert service.list() == [] and tree(service.kb_root) == []


@pytest.mark.parametrize("name", TRAVERSALS)
def test_file_names_that_leave_their_folder_are_refused(service: KnowledgeBaseService, name: str):
    service.create(name="kb")
    before = tree(service.kb_root)

    with pytest.raises(InvalidNameError):
        service.add_files(name="kb", files=[("fine.txt", b"fine"), (name, b"payload")])
    with pytest.raises(InvalidNameError):
        service.delete_file(name="kb", file_name=name)
    with pytest.raises(InvalidNameError):
        service.file_path(name="kb", file_name=name)

    assert tree(service.kb_root) == before and service.list_files(name="kb") == []
    assert not (service.kb_root.parent / "outside").exists()


def test_empty_and_oversized_files_refuse_the_whole_upload(service: KnowledgeBaseService):
    service.create(name="kb")
    before = tree(service.kb_root)

    with pytest.raises(EmptyFileError) as empty:
        service.add_files(name="kb", files=[("fine.txt", b"fine"), ("empty.txt", b"")])
    with pytest.raises(FileTooLargeError) as large:
        service.add_files(name="kb", files=[("big.txt", b"x" * 2048)], max_file_bytes=1024)

    assert (empty.value.status_code, large.value.status_code) == (400, 413)
    assert "'empty.txt' is empty" in str(empty.value) and "'big.txt'" in str(large.value)
    assert tree(service.kb_root) == before and service.list_files(name="kb") == []


def test_the_file_size_limit_comes_from_the_settings(make_service):
    assert make_service().max_file_bytes == 50 * 1024 * 1024
    service = make_service(kb_max_file_mb=0.001)
    service.create(name="kb")

    with pytest.raises(FileTooLargeError, match="2000 bytes, over the limit of 1048"):
        service.add_files(name="kb", files=[("big.txt", b"x" * 2000)])


def test_a_name_twice_in_one_upload_is_refused(service: KnowledgeBaseService):
    service.create(name="kb")

    with pytest.raises(ServiceError, match="twice"):
        service.add_files(name="kb", files=[("a.txt", b"one"), ("a.txt", b"two")])


def test_bad_chunking_is_refused(service: KnowledgeBaseService):
    service.create(name="kb")

    with pytest.raises(ServiceError, match="chunk_overlap"):
        service.add_files(name="kb", files=[("a.txt", b"one")], chunk_size=100, chunk_overlap=100)


def test_duplicate_and_missing_knowledge_bases(service: KnowledgeBaseService):
    service.create(name="kb", description="first")

    with pytest.raises(KnowledgeBaseExistsError) as duplicate:
        service.create(name="kb", description="second")
    with pytest.raises(KnowledgeBaseNotFoundError) as missing:
        service.add_files(name="nope", files=[("a.txt", b"text")])

    assert (duplicate.value.status_code, missing.value.status_code) == (409, 404)
    assert service.get(name="kb").description == "first"
    assert not (service.kb_root / "nope").exists()
    for call in (
        lambda: service.get(name="nope"),
        lambda: service.delete(name="nope"),
        lambda: service.list_files(name="nope"),
        lambda: service.search(name="nope", query="x"),
        lambda: service.update(name="nope", description="x"),
    ):
        with pytest.raises(KnowledgeBaseNotFoundError):
            call()


def test_missing_file(service: KnowledgeBaseService):
    service.create(name="kb")

    with pytest.raises(KnowledgeFileNotFoundError) as missing:
        service.delete_file(name="kb", file_name="ghost.txt")

    assert missing.value.status_code == 404


def test_searching_an_empty_knowledge_base(service: KnowledgeBaseService):
    service.create(name="kb")
    service.add_files(name="kb", files=[("tool.exe", b"MZ")])  # fails: nothing gets indexed

    with pytest.raises(EmptyKnowledgeBaseError, match="no indexed file") as empty:
        service.search(name="kb", query="anything")

    assert empty.value.status_code == 400


@pytest.mark.parametrize(
    ("query", "top_k", "threshold"), [("  ", 3, 0.0), ("ok", 0, 0.0), ("ok", 101, 0.0), ("ok", 3, 1.5)]
)
def test_bad_search_parameters(service: KnowledgeBaseService, query: str, top_k: int, threshold: float):
    service.create(name="kb")
    service.add_files(name="kb", files=[("a.txt", b"text")])

    with pytest.raises(ServiceError):
        service.search(name="kb", query=query, top_k=top_k, score_threshold=threshold)
