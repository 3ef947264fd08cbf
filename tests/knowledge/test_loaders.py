"""Each file type to documents; text in any encoding a user's editor writes."""

from __future__ import annotations

import codecs
import io
import json
import zipfile

import pytest

from agent_service.knowledge.decoding import decode_text
from agent_service.knowledge.errors import LoaderError
from agent_service.knowledge.loaders import load_file
from tests.knowledge.documents import make_docx, make_pdf

TEXT = "知识库 knowledge base: 中文、English, Ünïcödé ✓"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        TEXT.encode("utf-16"),  # with BOM, little-endian here
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
        TEXT.encode("utf-32"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-16-be", "utf-32"],
)
def test_unicode_encodings(data: bytes):
    assert decode_text(data) == TEXT


def test_gbk_and_gb18030():
    chinese = "水泵的维修方法写在第三章，错误码E-7731。"
    assert decode_text(chinese.encode("gbk")) == chinese
    assert decode_text("𠀀 rare ideograph".encode("gb18030")) == "𠀀 rare ideograph"


@pytest.mark.parametrize("data", [b"\x00\x01\x02binary", b"\x80\x81\xff", "café".encode("cp1252")])
def test_bytes_that_are_not_text_are_refused(data: bytes):
    with pytest.raises(LoaderError):
        decode_text(data)


def test_pdf_keeps_page_numbers():
    loaded = load_file("a.pdf", make_pdf([["First page."], ["Second page."]]))

    assert [(d.page_content, d.metadata) for d in loaded.documents] == [
        ("First page.", {"page": 1}),
        ("Second page.", {"page": 2}),
    ]


def test_docx_headings_become_markdown():
    loaded = load_file("a.docx", make_docx([("h1", "Setup"), ("p", "Plug it in."), ("h2", "Network")]))

    assert loaded.markdown and loaded.documents[0].page_content == "# Setup\n\nPlug it in.\n\n## Network"


def test_html_text_without_scripts():
    page = (
        b"<html><head><title>Shop</title><script>alert(1)</script></head>"
        b"<body><h2>Hours</h2><p>Mon <b>to</b> Fri</p></body></html>"
    )

    [document] = load_file("a.html", page).documents

    assert document.page_content == "## Hours\n\nMon to Fri"
    assert document.metadata == {"title": "Shop"}


def test_csv_one_document_per_row():
    loaded = load_file("a.csv", "名称;价格\n水泵;120\n密封圈;4.5\n".encode("gbk"))

    assert [(d.page_content, d.metadata) for d in loaded.documents] == [
        ("名称: 水泵\n价格: 120", {"row": 1}),
        ("名称: 密封圈\n价格: 4.5", {"row": 2}),
    ]


def test_json_list_items_and_jsonl_lines():
    items = load_file("a.json", json.dumps([{"q": "Warranty?"}, "plain text"]).encode()).documents
    lines = load_file("a.jsonl", b'{"q": 1}\n\n"second"\n').documents

    assert [d.metadata for d in items] == [{"item": 1}, {"item": 2}] and items[1].page_content == "plain text"
    assert json.loads(items[0].page_content) == {"q": "Warranty?"}
    assert [(d.page_content, d.metadata["line"]) for d in lines] == [('{\n  "q": 1\n}', 1), ("second", 3)]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.exe", b"MZ", "unsupported file type '.exe'"),
        ("README", b"text", "unsupported file type '(none)'"),
        ("a.pdf", b"not a pdf", "cannot read the file as .pdf"),
        ("a.docx", b"not a zip", "cannot read the file as .docx"),
        ("a.json", b"{broken", "not valid JSON"),
        ("a.txt", b"  \n\t ", "no text found"),
        ("scan.pdf", make_pdf([[]]), "no extractable text"),
    ],
)
def test_unreadable_files_say_why(name: str, data: bytes, reason: str):
    with pytest.raises(LoaderError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        load_file(name, data)


def docx_bomb(paragraphs: int, paragraph: bytes = b"<w:p/>") -> bytes:
    """A .docx of a few hundred KB whose body unpacks into `paragraphs` copies of `paragraph`."""
    source = make_docx([("p", "Hello.")])
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as original, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for item in original.infolist():
            body = original.read(item.filename)
            if item.filename == "word/document.xml":
                body = body.replace(b"<w:body>", b"<w:body>" + paragraph * paragraphs)
            out.writestr(item, body)
    return bomb.getvalue()


def test_a_docx_that_unpacks_into_millions_of_paragraphs_is_refused_unread():
    """92 KB that unpacks into 10 million empty paragraphs took 1.4 GB to parse (and kept it)."""
    bomb = docx_bomb(10_000_000)
    assert len(bomb) < 500_000

    with pytest.raises(LoaderError, match=r"unpacks to [\d,]+ bytes, over the limit of 50,000,000"):
        load_file("bomb.docx", bomb)


def test_a_docx_of_millions_of_paragraphs_within_the_size_limit_is_refused_as_it_is_read():
    bomb = docx_bomb(8_000_000)  # 48 MB unpacked: under the size limit

    with pytest.raises(LoaderError, match="more than 500,000 paragraphs and table cells"):
        load_file("bomb.docx", bomb)


def test_docx_tables_tabs_and_breaks_are_read_in_order():
    import docx

    document = docx.Document()
    document.add_heading("Prices", level=2)
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Pump", "120"), ("Seal", "4.5")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    run = document.add_paragraph().add_run("before")
    run.add_tab()
    run.add_text("after")
    run.add_break()
    run.add_text("next line")
    saved = io.BytesIO()
    document.save(saved)

    [loaded] = load_file("a.docx", saved.getvalue()).documents

    assert loaded.page_content == "## Prices\n\nPump | 120\n\nSeal | 4.5\n\nbefore\tafter\nnext line"
