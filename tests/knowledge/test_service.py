"""A knowledge base's life through the service: create, upload mixed files,
list, search, delete a file, delete the base; and what the database, the
folder and both indexes hold at each step."""

from __future__ import annotations

import json

import pytest

from agent_service.knowledge.errors import EmbeddingModelMismatchError, KnowledgeBaseNotFoundError
from agent_service.knowledge.keyword_index import KeywordIndex
from agent_service.knowledge.service import KnowledgeBaseService
from tests.knowledge.documents import make_docx, make_pdf

GBK_TEXT = "知识库支持中文检索。水泵的维修方法写在第三章。"
UTF16_TEXT = "Der Kühlschrank kühlt nicht mehr. Prüfen Sie zuerst die Türdichtung."


def mixed_files() -> list[tuple[str, bytes]]:
    return [
        ("router.txt", b"To reboot the router, hold the reset button for ten seconds."),
        ("中文说明.txt", GBK_TEXT.encode("gbk")),
        ("kuehlschrank.txt", UTF16_TEXT.encode("utf-16")),
        ("manual.pdf", make_pdf([["Pump manual.", "Installation steps."], ["Error E-7731: the pump lost pressure."]])),
        (
            "guide.docx",
            make_docx([("h1", "Setup"), ("p", "Plug the heater in."), ("h2", "Network"), ("p", "Join wifi.")]),
        ),
        ("notes.md", b"# Tips\n\nClean the filter monthly.\n\n## Winter\n\nDrain the hose.\n"),
        ("parts.csv", b"part,price\nseal,4.50\nhose,12.00\n"),
        ("faq.json", json.dumps([{"q": "Warranty?", "a": "Two years."}]).encode()),
        (
            "page.html",
            b"<html><head><title>Shop</title></head><body><h1>Opening hours</h1><p>Mon to Fri.</p></body></html>",
        ),
    ]


def test_the_life_of_a_knowledge_base(service: KnowledgeBaseService):
    created = service.create(name="appliances", description="Manuals")
    assert (created.name, created.file_count, created.chunk_count) == ("appliances", 0, 0)
    assert created.embedding_model == "fake"

    progress: list[tuple[int, int, str]] = []
    results = service.add_files(name="appliances", files=mixed_files(), progress=lambda *p: progress.append(p))

    assert [(r.name, r.status) for r in results] == [(name, "indexed") for name, _ in mixed_files()]
    total = sum(r.chunk_count for r in results)
    assert progress[-1][:2] == (total, total)
    files = {f.name: f for f in service.list_files(name="appliances")}
    assert {name: f.loader for name, f in files.items()} == {
        "router.txt": "text",
        "中文说明.txt": "text",
        "kuehlschrank.txt": "text",
        "manual.pdf": "pypdf",
        "guide.docx": "docx",
        "notes.md": "markdown",
        "parts.csv": "csv",
        "faq.json": "json",
        "page.html": "html",
    }
    assert all(f.status == "indexed" and f.error is None and len(f.sha256) == 64 for f in files.values())
    kb = service.get(name="appliances")
    assert (kb.file_count, kb.chunk_count) == (9, total)
    assert service.file_path(name="appliances", file_name="中文说明.txt").read_bytes() == GBK_TEXT.encode("gbk")

    # Each encoding was read correctly: the chunks hold the text, not mojibake.
    [chinese] = service.search(name="appliances", query="水泵维修", top_k=1)
    assert chinese.file == "中文说明.txt" and chinese.text == GBK_TEXT
    [german] = service.search(name="appliances", query="Türdichtung Kühlschrank", top_k=1)
    assert german.file == "kuehlschrank.txt" and german.text == UTF16_TEXT
    [pdf] = service.search(name="appliances", query="E-7731", top_k=1)
    assert (pdf.file, pdf.page, pdf.text) == ("manual.pdf", 2, "Error E-7731: the pump lost pressure.")
    [docx] = service.search(name="appliances", query="wifi network", top_k=1)
    assert docx.file == "guide.docx" and docx.metadata["headings"] == "Setup > Network"
    [csv] = service.search(name="appliances", query="hose price", top_k=1)
    assert csv.file == "parts.csv" and csv.metadata["row"] == 2

    assert service.update(name="appliances", description="Home manuals").description == "Home manuals"

    keywords = KeywordIndex(service.kb_root / "appliances" / "keyword_index.db")
    vectors = service._vector_index("appliances")
    pdf_chunks = files["manual.pdf"].chunk_count
    assert keywords.count("manual.pdf") == vectors.count("manual.pdf") == pdf_chunks == 2
    assert keywords.count() == vectors.count() == total

    service.delete_file(name="appliances", file_name="manual.pdf")

    assert keywords.count("manual.pdf") == vectors.count("manual.pdf") == 0
    assert keywords.count() == vectors.count() == total - pdf_chunks
    assert not (service.kb_root / "appliances" / "content" / "manual.pdf").exists()
    assert "manual.pdf" not in {f.name for f in service.list_files(name="appliances")}
    assert all(hit.file != "manual.pdf" for hit in service.search(name="appliances", query="E-7731 pump", top_k=10))
    assert service.get(name="appliances").file_count == 8

    service.delete(name="appliances")

    assert not (service.kb_root / "appliances").exists()
    assert service.list() == []
    with pytest.raises(KnowledgeBaseNotFoundError):
        service.get(name="appliances")


def test_the_same_content_is_skipped_unless_override(service: KnowledgeBaseService):
    service.create(name="kb")
    text = b"The warranty lasts two years."
    service.add_files(name="kb", files=[("warranty.txt", text)])

    again = service.add_files(name="kb", files=[("warranty.txt", text), ("copy.txt", text)])
    forced = service.add_files(name="kb", files=[("copy.txt", text)], override=True)

    assert [(r.name, r.status) for r in again] == [("warranty.txt", "skipped"), ("copy.txt", "skipped")]
    assert again[1].reason == "same content as 'warranty.txt', already indexed"
    assert [(r.name, r.status) for r in forced] == [("copy.txt", "indexed")]
    assert sorted(f.name for f in service.list_files(name="kb")) == ["copy.txt", "warranty.txt"]


def test_new_content_under_an_existing_name_replaces_the_old_chunks(service: KnowledgeBaseService):
    service.create(name="kb")
    service.add_files(name="kb", files=[("hours.txt", b"Open on Mondays.")])
    service.add_files(name="kb", files=[("hours.txt", b"Closed on Sundays.")])

    hits = service.search(name="kb", query="Mondays Sundays", top_k=5)

    assert [hit.text for hit in hits] == ["Closed on Sundays."]
    assert [f.size for f in service.list_files(name="kb")] == [len(b"Closed on Sundays.")]


def test_an_unreadable_file_fails_alone_with_its_reason(service: KnowledgeBaseService):
    service.create(name="kb")

    results = service.add_files(
        name="kb",
        files=[
            ("good.txt", b"Good text."),
            ("tool.exe", b"MZ\x90\x00"),
            ("broken.pdf", b"%PDF-1.4 garbage"),
            ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1")),
            ("also-good.md", b"# Also good"),
        ],
    )

    assert [r.status for r in results] == ["indexed", "failed", "failed", "failed", "indexed"]
    assert "unsupported file type '.exe'" in results[1].reason
    assert "pdf" in results[2].reason.lower()
    assert "not text" in results[3].reason
    rows = {f.name: f for f in service.list_files(name="kb")}
    assert rows["tool.exe"].status == "failed" and rows["tool.exe"].error == results[1].reason
    assert rows["tool.exe"].chunk_count == 0
    assert service.get(name="kb").file_count == 2
    assert service.file_path(name="kb", file_name="tool.exe").read_bytes() == b"MZ\x90\x00"


def test_a_failure_while_embedding_leaves_no_chunk_behind(service: KnowledgeBaseService):
    service.create(name="kb")

    def stop_after_first_batch(done: int, total: int, file_name: str) -> None:
        raise RuntimeError("embedding server went away")

    text = " ".join(f"Sentence number {n}." for n in range(400)).encode()
    [result] = service.add_files(
        name="kb", files=[("long.txt", text)], chunk_size=100, chunk_overlap=0, progress=stop_after_first_batch
    )

    assert (result.status, result.reason) == ("failed", "embedding server went away")
    assert service._vector_index("kb").count("long.txt") == 0
    assert KeywordIndex(service.kb_root / "kb" / "keyword_index.db").count("long.txt") == 0
    assert service.list_files(name="kb")[0].status == "failed"


def test_reindex_rebuilds_from_the_content_folder(service: KnowledgeBaseService):
    service.create(name="kb")
    service.add_files(name="kb", files=[("a.txt", b"Alpha text."), ("b.txt", b"Bravo text.")])
    content = service.kb_root / "kb" / "content"
    (content / "b.txt").unlink()
    (content / "c.txt").write_text("Charlie text, copied in by hand.")

    results = service.reindex(name="kb")

    assert sorted((r.name, r.status) for r in results) == [
        ("a.txt", "indexed"),
        ("b.txt", "failed"),
        ("c.txt", "indexed"),
    ]
    assert [hit.file for hit in service.search(name="kb", query="Charlie", top_k=1)] == ["c.txt"]
    assert service._vector_index("kb").count() == 2
    assert KeywordIndex(service.kb_root / "kb" / "keyword_index.db").count() == 2


def test_a_base_remembers_its_embedding_model(make_service):
    first = make_service(embeddings={"provider": "fake", "model": "hash-v1"})
    first.create(name="kb")
    first.add_files(name="kb", files=[("a.txt", b"text")])
    other = make_service(embeddings={"provider": "fake", "model": "hash-v2"})

    with pytest.raises(EmbeddingModelMismatchError) as mismatch:
        other.search(name="kb", query="anything")
    with pytest.raises(EmbeddingModelMismatchError):
        other.add_files(name="kb", files=[("b.txt", b"more text")])
    with pytest.raises(EmbeddingModelMismatchError):
        other.reindex(name="kb")
    with pytest.raises(EmbeddingModelMismatchError):
        other.create(name="kb2", embedding_model="hash-v1")

    assert mismatch.value.status_code == 409
    assert "'hash-v1'" in str(mismatch.value) and "'hash-v2'" in str(mismatch.value)
    assert [f.name for f in other.list_files(name="kb")] == ["a.txt"]
    other.delete_file(name="kb", file_name="a.txt")  # cleaning up needs no embeddings
    other.delete(name="kb")
    assert other.list() == []


def test_a_folder_copied_in_by_hand_becomes_a_base(service: KnowledgeBaseService):
    folder = service.kb_root / "copied"
    (folder / "content").mkdir(parents=True)
    (folder / "content" / "readme.md").write_text("# Readme\n\nCopied by hand.")
    (folder / "vector_store").mkdir()
    (folder / "vector_store" / "stale.bin").write_bytes(b"old index")
    (folder / "keyword_index.db").write_bytes(b"old index")

    service.create(name="copied")
    assert not (folder / "vector_store" / "stale.bin").exists() and not (folder / "keyword_index.db").exists()
    results = service.reindex(name="copied")

    assert [(r.name, r.status) for r in results] == [("readme.md", "indexed")]
    assert service.search(name="copied", query="copied", top_k=1)[0].metadata["headings"] == "Readme"
