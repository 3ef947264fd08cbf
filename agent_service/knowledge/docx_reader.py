"""A .docx read as a stream: its paragraphs (headings as Markdown) and table rows.

python-docx builds the whole XML tree first, and a .docx is a zip of XML:
100 KB can unpack into millions of empty paragraphs, gigabytes of tree and
minutes of work. This reads `word/document.xml` with lxml's iterparse and
keeps one top-level paragraph or table row at a time, so memory follows the
text, not the markup; the unpacked size and the number of paragraphs and
cells are bounded before they cost anything.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import IO

from lxml import etree

from agent_service.knowledge.errors import LoaderError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
P, TABLE, ROW, CELL = f"{W}p", f"{W}tbl", f"{W}tr", f"{W}tc"
TEXT, TAB, BREAK, RETURN, TAB_STOPS = f"{W}t", f"{W}tab", f"{W}br", f"{W}cr", f"{W}tabs"
VAL = f"{W}val"
# A 500-page book unpacks to about 10 MB and holds some 20,000 paragraphs.
MAX_UNPACKED_BYTES = 50_000_000
MAX_PARTS = 500_000  # paragraphs and table cells
# No DTDs, no entities, nothing fetched: the XML is untrusted.
SAFE = {"resolve_entities": False, "load_dtd": False, "no_network": True, "huge_tree": False}


def docx_blocks(data: bytes) -> list[str]:
    """The document's text blocks in order: paragraphs (`# heading` for headings) and table rows (`a | b`)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise LoaderError(f"the file unpacks to {unpacked:,} bytes, over the limit of {MAX_UNPACKED_BYTES:,}")
        headings = _heading_levels(archive)
        with archive.open("word/document.xml") as xml:
            return list(_blocks(xml, headings))


def _heading_levels(archive: zipfile.ZipFile) -> dict[str, int]:
    """Style id -> level, for the paragraph styles named `heading N` (Word shows `Heading N`)."""
    if "word/styles.xml" not in archive.namelist():
        return {}
    levels: dict[str, int] = {}
    with archive.open("word/styles.xml") as xml:
        for _, style in etree.iterparse(xml, tag=f"{W}style", **SAFE):
            name = style.find(f"{W}name")
            heading = re.fullmatch(r"heading ([1-9])", (name.get(VAL, "") if name is not None else "").lower())
            if heading and (style_id := style.get(f"{W}styleId")):
                levels[style_id] = int(heading[1])
            style.clear()
    return levels


def _blocks(xml: IO[bytes], headings: dict[str, int]) -> Iterator[str]:
    tables, parts, cells = 0, 0, []  # how deep in tables; paragraphs and cells so far; the row's cells
    for event, element in etree.iterparse(xml, events=("start", "end"), tag=(P, TABLE, ROW, CELL), **SAFE):
        if event == "start":
            tables += element.tag == TABLE
            continue
        if element.tag in (P, CELL):
            parts += 1
            if parts > MAX_PARTS:
                raise LoaderError(f"the document has more than {MAX_PARTS:,} paragraphs and table cells")
        if element.tag == P and not tables:
            text = _text(element).strip()
            level = headings.get(_style(element), 0)
            if text:
                yield f"{'#' * level} {text}" if level else text
            _release(element)
        elif element.tag == CELL and tables == 1:
            cells.append(" ".join(filter(None, (_text(paragraph).strip() for paragraph in element.iter(P)))))
        elif element.tag == ROW and tables == 1:
            if any(cells):
                yield " | ".join(cells)
            cells = []
            _release(element)
        elif element.tag == TABLE:
            tables -= 1
            if not tables:
                _release(element)


def _text(paragraph: etree._Element) -> str:
    pieces = []
    for node in paragraph.iter(TEXT, TAB, BREAK, RETURN):
        if node.tag == TEXT:
            pieces.append(node.text or "")
        elif node.tag != TAB or node.getparent().tag != TAB_STOPS:  # a tab stop's definition is no tab
            pieces.append("\t" if node.tag == TAB else "\n")
    return "".join(pieces)


def _style(paragraph: etree._Element) -> str:
    style = paragraph.find(f"{W}pPr/{W}pStyle")
    return "" if style is None else style.get(VAL, "")


def _release(element: etree._Element) -> None:
    """Drop what is read: the element's content and the siblings before it."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    while parent is not None and element.getprevious() is not None:
        del parent[0]
