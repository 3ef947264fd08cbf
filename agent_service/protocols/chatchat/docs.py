"""The sources of a knowledge-base answer as Chatchat 0.2 sends them: `docs`, markdown strings."""

from __future__ import annotations

from urllib.parse import urlencode

from agent_service.knowledge.models import SearchHit

NOTHING_FOUND = "<span style='color:red'>未找到相关文档,该回答为大模型自身能力解答！</span>"


def chatchat_download_url(base_url: str, kb: str, file: str) -> str:
    return f"{base_url}knowledge_base/download_doc?" + urlencode({"knowledge_base_name": kb, "file_name": file})


def chatchat_docs(hits: list[SearchHit], *, kb: str, base_url: str) -> list[str]:
    """Sources as Chatchat 0.2's web client shows them (markdown strings)."""
    if not hits:
        return [NOTHING_FOUND]
    return [
        f"出处 [{number}] [{hit.file}]({chatchat_download_url(base_url, kb, hit.file)}) \n\n{hit.text}\n\n"
        for number, hit in enumerate(hits, start=1)
    ]
