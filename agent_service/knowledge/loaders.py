"""Uploaded bytes to LangChain documents, chosen by the file's extension.

Each loader returns documents whose metadata says where the text came from
(`page` of a PDF, `row` of a CSV, `item` of a JSON list, `line` of JSON Lines).
Loaders that know a document's structure (Markdown, Word headings, HTML
headings) write the text as Markdown so the splitter can keep headings.
A file that cannot be read raises LoaderError with the reason.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from langchain_core.documents import Document

from agent_service.knowledge.decoding import decode_text
from agent_service.knowledge.docx_reader import docx_blocks
from agent_service.knowledge.errors import LoaderError


@dataclass
class LoadedFile:
    loader: str  # recorded on the file's row
    documents: list[Document]
    markdown: bool = False  # text carries Markdown headings worth keeping


def _text(data: bytes) -> LoadedFile:
    return LoadedFile("text", [Document(decode_text(data))])


def _markdown(data: bytes) -> LoadedFile:
    return LoadedFile("markdown", [Document(decode_text(data))], markdown=True)


def _pdf(data: bytes) -> LoadedFile:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise LoaderError("the PDF is encrypted")
    pages = [page.extract_text() or "" for page in reader.pages]
    documents = [Document(text, metadata={"page": number}) for number, text in enumerate(pages, 1) if text.strip()]
    if not documents:
        raise LoaderError("the PDF has no extractable text (a scan needs OCR first)")
    return LoadedFile("pypdf", documents)


def _docx(data: bytes) -> LoadedFile:
    return LoadedFile("docx", [Document("\n\n".join(docx_blocks(data)))], markdown=True)


_HTML_BLOCKS = ["p", "div", "section", "article", "header", "footer", "blockquote", "pre", "table", "ul", "ol"]
_HTML_LINES = ["li", "tr", "dt", "dd"]


def _html(data: bytes) -> LoadedFile:
    from bs4 import BeautifulSoup

    # Given bytes, the parser honours a BOM or the page's own <meta charset>.
    soup = BeautifulSoup(data, "html.parser")
    for hidden in soup(["script", "style", "noscript", "template"]):
        hidden.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    # Block elements end paragraphs and list items end lines, as a browser shows them.
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_after("\n\n")
    for tag in soup.find_all(_HTML_LINES):
        tag.insert_after("\n")
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    lines = "\n".join(line.strip() for line in soup.get_text().splitlines())
    text = re.sub(r"\n{3,}", "\n\n", lines).strip()
    metadata = {"title": title} if title else {}
    return LoadedFile("html", [Document(text, metadata=metadata)], markdown=True)


def _csv(data: bytes) -> LoadedFile:
    text = decode_text(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    documents = [
        Document(
            "\n".join(f"{key}: {value}" for key, value in row.items() if key and value),
            metadata={"row": number},
        )
        for number, row in enumerate(rows, 1)
    ]
    return LoadedFile("csv", documents)


def _render_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)


def _json(data: bytes) -> LoadedFile:
    try:
        value = json.loads(decode_text(data))
    except json.JSONDecodeError as exc:
        raise LoaderError(f"not valid JSON: {exc}") from exc
    if isinstance(value, list):
        documents = [Document(_render_json(item), metadata={"item": number}) for number, item in enumerate(value, 1)]
    else:
        documents = [Document(_render_json(value))]
    return LoadedFile("json", documents)


def _jsonl(data: bytes) -> LoadedFile:
    documents = []
    for number, line in enumerate(decode_text(data).splitlines(), 1):
        if not line.strip():
            continue
        try:
            documents.append(Document(_render_json(json.loads(line)), metadata={"line": number}))
        except json.JSONDecodeError as exc:
            raise LoaderError(f"line {number} is not valid JSON: {exc}") from exc
    return LoadedFile("jsonl", documents)


LOADERS: dict[str, Callable[[bytes], LoadedFile]] = {
    ".txt": _text,
    ".md": _markdown,
    ".markdown": _markdown,
    ".pdf": _pdf,
    ".docx": _docx,
    ".html": _html,
    ".htm": _html,
    ".csv": _csv,
    ".json": _json,
    ".jsonl": _jsonl,
}


def load_file(file_name: str, data: bytes) -> LoadedFile:
    """The documents in `data`; LoaderError when the type is unsupported or the file unreadable."""
    extension = PurePath(file_name).suffix.lower()
    loader = LOADERS.get(extension)
    if loader is None:
        supported = ", ".join(sorted(LOADERS))
        raise LoaderError(f"unsupported file type {extension or '(none)'!r}; supported: {supported}")
    try:
        loaded = loader(data)
    except LoaderError:
        raise
    except Exception as exc:
        # Parsers of untrusted files fail in many ways; each means the same to the user.
        raise LoaderError(f"cannot read the file as {extension}: {exc}") from exc
    loaded.documents = [document for document in loaded.documents if document.page_content.strip()]
    if not loaded.documents:
        raise LoaderError("no text found in the file")
    return loaded
