"""The vector half of hybrid search: one Chroma collection per knowledge base.

Embedded by default (a `chromadb.PersistentClient` in `<kb>/vector_store/`);
with a Chroma server URL, every base is a collection on that server, named
from a hash of the base's name (collection names allow no Chinese). Distances
are cosine. Chroma is imported on first use: it is slow to import and the
service must start fast.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from langchain_core.embeddings import Embeddings

from agent_service.knowledge.keyword_index import IndexedChunk
from agent_service.long_lived import freeze_loaded_objects

if TYPE_CHECKING:
    from langchain_chroma import Chroma


@dataclass
class VectorMatch:
    chunk: IndexedChunk
    cosine: float  # cosine similarity, -1..1


def collection_name(kb_name: str) -> str:
    return "kb-" + hashlib.sha256(kb_name.encode()).hexdigest()[:32]


def _chroma_metadata(metadata: dict[str, Any]) -> dict[str, str | int | float | bool]:
    # Chroma stores scalars only; anything else is kept as JSON text.
    return {
        key: value if isinstance(value, str | int | float | bool) else json.dumps(value, ensure_ascii=False)
        for key, value in metadata.items()
        if value is not None
    }


class VectorIndex:
    """One knowledge base's chunks in Chroma; safe to share between threads."""

    def __init__(self, *, kb_name: str, path: Path, embeddings: Embeddings, chroma_url: str | None = None) -> None:
        self.kb_name = kb_name
        self.path = path
        self.embeddings = embeddings
        self.chroma_url = chroma_url
        self._store: Chroma | None = None
        self._client: Any = None
        self._opening = threading.Lock()

    @property
    def store(self) -> Chroma:
        with self._opening:
            if self._store is None:
                self._store = self._open()
                freeze_loaded_objects()
            return self._store

    def _open(self) -> Chroma:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        settings = ChromaSettings(anonymized_telemetry=False)  # no calls home
        if self.chroma_url:
            url = urlsplit(self.chroma_url)
            self._client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=settings,
            )
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(self.path), settings=settings)
        return Chroma(
            collection_name=collection_name(self.kb_name),
            client=self._client,
            embedding_function=self.embeddings,
            # Chroma's default HNSW graph (16 neighbours, search breadth 10) can leave
            # chunks unreachable among many similar ones: a search then never returns
            # them, at any limit. Wider settings keep every chunk findable.
            collection_metadata={"hnsw:space": "cosine", "hnsw:search_ef": 100, "hnsw:M": 32},
        )

    def add(self, chunks: Sequence[IndexedChunk]) -> None:
        """Embed and store `chunks` (one embedding call for all: callers batch)."""
        self.store.add_texts(
            [chunk.text for chunk in chunks],
            metadatas=[_chroma_metadata(chunk.metadata) for chunk in chunks],
            ids=[chunk.id for chunk in chunks],
        )

    def delete_file(self, file_name: str) -> None:
        self.store.delete(where={"file": file_name})

    def count(self, file_name: str | None = None) -> int:
        where = None if file_name is None else {"file": file_name}
        return len(self.store.get(where=where, include=[])["ids"])

    def search_many(
        self, embeddings: Sequence[Sequence[float]], *, limit: int, files: Collection[str] | None = None
    ) -> list[list[VectorMatch]]:
        """For each query embedding, the `limit` chunks (of `files`, when given) nearest to it,
        nearest first. One Chroma query for all of them (langchain-chroma asks one at a time)."""
        where = None if files is None else {"file": {"$in": sorted(files)}}
        # The chromadb collection the store already holds: langchain-chroma has no batched query.
        found = self.store._collection.query(
            query_embeddings=[list(embedding) for embedding in embeddings],
            n_results=limit,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            [
                VectorMatch(IndexedChunk(id_, meta["file"], text, dict(meta)), cosine=1.0 - distance)
                for id_, text, meta, distance in zip(ids, texts, metas, distances, strict=True)
                if text is not None
            ]
            for ids, texts, metas, distances in zip(
                found["ids"], found["documents"], found["metadatas"], found["distances"], strict=True
            )
        ]

    def clear(self) -> None:
        """Remove every chunk (the collection is made anew, empty)."""
        self.store.reset_collection()

    def close(self) -> None:
        """Forget the collection and release the client (and, embedded, its open files)."""
        with self._opening:
            if self._client is not None:
                self._client.close()
            self._store = None
            self._client = None

    def destroy(self) -> None:
        """Delete every chunk and the store itself: the server's collection, or the embedded folder."""
        if self.chroma_url:
            self.store.delete_collection()
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)
