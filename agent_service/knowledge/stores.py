"""Each knowledge base's stores: its files, its vector index, its keyword index,
and the writers' turns that keep them agreeing.

The embedded stores serve one process: files and indexes in `<kb>/`, turns
among this process's threads. On PostgreSQL, the keyword index and the turns
are the database's, shared by every replica; vectors are on the Chroma server
when `chroma_url` is set; files stay in the knowledge-base root, which
replicas share. `StoreFactory` chooses once and opens each base's stores once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from agent_service.config import Settings
from agent_service.db.engine import Database
from agent_service.knowledge.files import DirectoryFileStore, FileStore
from agent_service.knowledge.keyword_index import KeywordIndex, KeywordStore
from agent_service.knowledge.keyword_index_pg import PostgresKeywordIndex
from agent_service.knowledge.names import KnowledgeBasePaths
from agent_service.knowledge.vector_store import VectorIndex
from agent_service.knowledge.writers import PostgresWriterLocks, ProcessWriterLocks, WriterLocks


@dataclass(frozen=True)
class KnowledgeBaseStores:
    """One base's three stores; safe to share between threads."""

    files: FileStore
    vectors: VectorIndex
    keywords: KeywordStore

    def delete_chunks(self, file_name: str) -> None:
        """Remove a file's chunks from both indexes."""
        self.vectors.delete_file(file_name)
        self.keywords.delete_file(file_name)


class StoreFactory:
    """The stores of every base, embedded or shared as the database's dialect says,
    opened on first use and kept; `writers` makes the writers of one base take turns."""

    def __init__(self, settings: Settings, db: Database, embeddings: Embeddings) -> None:
        self.kb_root = settings.kb_root
        self.chroma_url = settings.chroma_url
        self.embeddings = embeddings
        self.shared = db.engine.dialect.name == "postgresql"
        self.engine = db.engine
        self.writers: WriterLocks = PostgresWriterLocks(db.engine) if self.shared else ProcessWriterLocks()
        self._opened: dict[str, KnowledgeBaseStores] = {}
        self._guard = threading.Lock()

    def open(self, name: str) -> KnowledgeBaseStores:
        """The base's stores (InvalidNameError for a name that cannot be a folder).
        Open a base the database holds: each name opened stays until `discard`."""
        # Searches come here for every base they read: no lock once a base is open.
        if (stores := self._opened.get(name)) is not None:
            return stores
        with self._guard:
            if (stores := self._opened.get(name)) is None:
                stores = self._opened[name] = self._build(name)
            return stores

    def _build(self, name: str) -> KnowledgeBaseStores:
        paths = KnowledgeBasePaths.under(self.kb_root, name)  # resolved once: resolving touches the disk
        keywords: KeywordStore = (
            PostgresKeywordIndex(self.engine, name) if self.shared else KeywordIndex(paths.keyword_index)
        )
        vectors = VectorIndex(
            kb_name=name, path=paths.vector_store, embeddings=self.embeddings, chroma_url=self.chroma_url
        )
        return KnowledgeBaseStores(files=DirectoryFileStore(paths), vectors=vectors, keywords=keywords)

    def discard(self, name: str) -> KnowledgeBaseStores:
        """Destroy the base's two indexes and forget its stores, so the next `open` starts
        anew. Returns them for the files, which the caller keeps or destroys."""
        stores = self.open(name)
        stores.vectors.destroy()
        with self._guard:
            self._opened.pop(name, None)
        stores.keywords.destroy()
        return stores

    def close(self) -> None:
        """Release every open vector index (at shutdown)."""
        with self._guard:
            opened, self._opened = list(self._opened.values()), {}
        for stores in opened:
            stores.vectors.close()
