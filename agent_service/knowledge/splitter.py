"""Documents to chunks: Markdown sections first (headings kept in metadata),
then recursive splitting on paragraph, line and sentence boundaries of both
Chinese and English text.

Every chunk's metadata names its file and its position: `chunk_index` (0-based,
in file order), plus what the loader knew (`page`, `row`, ...) and, for
structured text, `headings` ("Title > Section").
"""

from __future__ import annotations

import re

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from agent_service.errors import ServiceError
from agent_service.knowledge.loaders import LoadedFile

DEFAULT_CHUNK_SIZE = 500  # characters
DEFAULT_CHUNK_OVERLAP = 50
MIN_CHUNK_SIZE = 20  # characters: smaller chunks hold no sentence to find
MAX_CHUNK_SIZE = 10_000

# Coarsest first. Sentence ends stay with their sentence (keep_separator="end").
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", ". ", "! ", "? ", "; ", "，", ", ", " ", ""]

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def check_chunking(chunk_size: int, chunk_overlap: int) -> None:
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ServiceError(f"chunk_size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE}, not {chunk_size}")
    if not 0 <= chunk_overlap < chunk_size:
        raise ServiceError(f"chunk_overlap must be at least 0 and less than chunk_size, not {chunk_overlap}")


def markdown_sections(document: Document) -> list[Document]:
    """One document per heading's section, text unchanged, with the heading path in `headings`."""
    sections: list[Document] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def close_section() -> None:
        text = "".join(lines)
        if text.strip():
            metadata = dict(document.metadata)
            if path:
                metadata["headings"] = " > ".join(title for _, title in path)
            sections.append(Document(text, metadata=metadata))
        lines.clear()

    for line in document.page_content.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line.rstrip("\r\n"))
        if heading:
            close_section()
            level = len(heading.group(1))
            path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, heading.group(2))]
        lines.append(line)
    close_section()
    return sections


def split_file(
    file_name: str, loaded: LoadedFile, *, chunk_size: int, chunk_overlap: int
) -> tuple[str, list[Document]]:
    """The splitter's name (recorded on the file's row) and the file's chunks in order."""
    check_chunking(chunk_size, chunk_overlap)
    splitter = RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        strip_whitespace=True,
    )
    documents = loaded.documents
    if loaded.markdown:
        documents = [section for document in documents for section in markdown_sections(document)]
    chunks = [chunk for chunk in splitter.split_documents(documents) if chunk.page_content.strip()]
    for index, chunk in enumerate(chunks):
        chunk.metadata.update(file=file_name, chunk_index=index)
    return ("markdown+recursive" if loaded.markdown else "recursive"), chunks
