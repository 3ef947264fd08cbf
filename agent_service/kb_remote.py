"""`agent-service kb --url URL ...`: the knowledge-base commands against a running
service, which has its embedding model loaded already (in-process, every command
that embeds loads it again: several seconds each)."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import httpx

from agent_service.errors import ServiceError
from agent_service.knowledge.models import FileResult, SearchHit

Progress = Callable[[int, int, str], None]


class RemoteKnowledgeBases:
    """The `KnowledgeBaseService` methods the `kb` commands use, over the service's HTTP API."""

    def __init__(self, url: str, api_key: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=httpx.Timeout(600, connect=10))

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServiceError(f"no service at {self.http.base_url}: {exc}") from None
        if response.status_code >= 400:
            body = response.json() if "json" in response.headers.get("content-type", "") else {}
            raise ServiceError(body.get("msg") or body.get("detail") or f"HTTP {response.status_code}")
        return response

    def _indexing(self, path: str, progress: Progress, **kwargs: Any) -> list[FileResult]:
        """Follow an indexing stream: progress events, then `done` with each file's result."""
        with self.http.stream("POST", path, **kwargs) as response:
            if response.status_code >= 400:
                response.read()
                raise ServiceError(response.json().get("msg") or f"HTTP {response.status_code}")
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[len("data: ") :])
                if event.get("type") == "progress":
                    progress(event["done"], event["total"], event["current_file"])
                elif event.get("type") == "done":
                    return [FileResult(**result) for result in event["results"]]
        raise ServiceError("the service ended the indexing stream without its results")

    @staticmethod
    def _base(name: str) -> str:
        return f"/knowledge_bases/{quote(name, safe='')}"

    def create(self, *, name: str, description: str = "") -> SimpleNamespace:
        created = self._call("POST", "/knowledge_bases", json={"name": name, "description": description})
        return SimpleNamespace(**created.json())

    def list(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(**kb) for kb in self._call("GET", "/knowledge_bases").json()]

    def list_files(self, *, name: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(**file) for file in self._call("GET", f"{self._base(name)}/files").json()]

    def add_files(
        self, *, name: str, files: list[tuple[str, bytes]], override: bool, progress: Progress, **chunking: int
    ) -> list[FileResult]:
        form = {"stream": "true", "override": str(override).lower(), **{k: str(v) for k, v in chunking.items()}}
        uploads = [("files", (file_name, content)) for file_name, content in files]
        return self._indexing(f"{self._base(name)}/files", progress, data=form, files=uploads)

    def search(self, *, name: str, query: str, top_k: int) -> list[SearchHit]:
        hits = self._call("POST", f"{self._base(name)}/search", json={"query": query, "top_k": top_k})
        return [SearchHit(**hit) for hit in hits.json()]

    def reindex(self, *, name: str, progress: Progress) -> list[FileResult]:
        return self._indexing(f"{self._base(name)}/reindex", progress)

    def delete(self, *, name: str) -> None:
        self._call("DELETE", self._base(name))
