"""Knowledge-base chat: the sources found for a question, numbered as the model's answer
cites them, and as the prompt shows them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from agent_service.knowledge.models import SearchHit

SNIPPET_CHARS = 300


def download_url(base_url: str, kb: str, file: str) -> str:
    return f"{base_url}knowledge_bases/{quote(kb, safe='')}/files/{quote(file, safe='')}"


def numbered_sources(hits: list[SearchHit], *, kb: str, base_url: str) -> list[dict[str, Any]]:
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


def prompt_context(hits: list[SearchHit]) -> str:
    """The sources as the prompt shows them: `[n] (file)` then the chunk's text."""
    return "\n\n".join(f"[{number}] ({hit.file})\n{hit.text}" for number, hit in enumerate(hits, start=1))
