"""Knowledge-base chat: the sources found for a question, numbered, and the
model's answer that cites them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from agent_service.knowledge.models import SearchHit

SNIPPET_CHARS = 300
NOTHING_FOUND = "<span style='color:red'>未找到相关文档,该回答为大模型自身能力解答！</span>"


def download_url(base_url: str, kb: str, file: str) -> str:
    return f"{base_url}knowledge_bases/{quote(kb, safe='')}/files/{quote(file, safe='')}"


def chatchat_download_url(base_url: str, kb: str, file: str) -> str:
    return f"{base_url}knowledge_base/download_doc?" + urlencode({"knowledge_base_name": kb, "file_name": file})


def sources(hits: list[SearchHit], *, kb: str, base_url: str) -> list[dict[str, Any]]:
    """Structured sources, numbered from 1 as the answer cites them."""
    return [
        {
            "index": number,
            "knowledge_base": kb,
            "file": hit.file,
            "position": hit.chunk_index,
            "page": hit.page,
            "score": round(hit.score, 4),
            "snippet": hit.text[:SNIPPET_CHARS],
            "url": download_url(base_url, kb, hit.file),
            "headings": hit.metadata.get("headings"),
        }
        for number, hit in enumerate(hits, start=1)
    ]


def chatchat_docs(hits: list[SearchHit], *, kb: str, base_url: str) -> list[str]:
    """Sources as Chatchat 0.2's web client shows them (markdown strings)."""
    if not hits:
        return [NOTHING_FOUND]
    return [
        f"出处 [{number}] [{hit.file}]({chatchat_download_url(base_url, kb, hit.file)}) \n\n{hit.text}\n\n"
        for number, hit in enumerate(hits, start=1)
    ]


def context(hits: list[SearchHit]) -> str:
    """The sources as the prompt shows them: `[n] (file)` then the chunk's text."""
    return "\n\n".join(f"[{number}] ({hit.file})\n{hit.text}" for number, hit in enumerate(hits, start=1))
