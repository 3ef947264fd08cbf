"""Knowledge bases as the API sees them: create, list, upload files, search.

Every method is blocking and thread-safe: the API calls it in a worker thread.
Searches from the event loop go through `asearch`, which batches them.
Writers of one base (uploads, deletes, reindexing) take turns; searches run
alongside them and see only files that are fully indexed.

The work is done behind this facade: `stores` (each base's files, indexes and
writers' turns), `ingest` (indexing files so the stores agree), `search`
(batched hybrid search) and `repair` (what an earlier run left, at start-up).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from pathlib import Path

from agent_service.config import Settings
from agent_service.db.engine import Database
from agent_service.knowledge import crud, repair
from agent_service.knowledge.embeddings import LazyEmbeddings, check_embedding_model, embedding_model_name
from agent_service.knowledge.errors import EmbeddingModelMismatchError, KnowledgeBaseExistsError
from agent_service.knowledge.fusion import DEFAULT_SCORE_THRESHOLD
from agent_service.knowledge.ingest import Indexer, Progress, checked_uploads
from agent_service.knowledge.models import (
    FileResult,
    KnowledgeBase,
    KnowledgeBasePublic,
    KnowledgeFilePublic,
    SearchHit,
)
from agent_service.knowledge.names import validate_file_name, validate_kb_name
from agent_service.knowledge.search import HybridSearch, SearchRequest
from agent_service.knowledge.splitter import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE
from agent_service.knowledge.stores import StoreFactory
from agent_service.knowledge.vector_store import VectorIndex


class KnowledgeBaseService:
    """Knowledge bases under `settings.kb_root`, their rows in `db`, embedded with `settings.embeddings`
    (loaded on first use). Errors are `ServiceError`s that carry their HTTP status."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.db = db
        self.kb_root = settings.kb_root
        self.embedding_model = embedding_model_name(settings.embeddings)
        self.embeddings = LazyEmbeddings(settings.embeddings)
        self.max_file_bytes = int(settings.kb_max_file_mb * 1024 * 1024)
        self.stores = StoreFactory(settings, db, self.embeddings)
        self.searcher = HybridSearch(settings, db, self.stores, self.embeddings)

    # Knowledge bases.

    def create(self, *, name: str, description: str = "", embedding_model: str | None = None) -> KnowledgeBasePublic:
        """A new, empty base. Files already in `<kb>/content/` (copied by hand) are kept; `reindex` indexes them."""
        validate_kb_name(name)
        model = embedding_model or self.embedding_model
        if model != self.embedding_model:
            raise EmbeddingModelMismatchError(
                f"embedding model {model!r} is not the configured one ({self.embedding_model!r})"
            )
        with self.stores.writers.hold(name):
            if self.db.transact(crud.kb_exists, name=name):
                raise KnowledgeBaseExistsError(f"knowledge base {name!r} already exists")
            # Indexes left by a base of that name that is gone from the database describe nothing.
            self.stores.discard(name).files.create()
            self.db.transact(crud.create_kb, name=name, description=description, embedding_model=model)
        return self.get(name=name)

    def list(self) -> list[KnowledgeBasePublic]:
        return self.db.transact(crud.list_kbs)

    def get(self, *, name: str) -> KnowledgeBasePublic:
        validate_kb_name(name)
        return self.db.transact(crud.kb_public, name=name)

    def update(self, *, name: str, description: str) -> KnowledgeBasePublic:
        validate_kb_name(name)
        self.db.transact(crud.update_kb, name=name, description=description)
        return self.get(name=name)

    def delete(self, *, name: str) -> None:
        """Delete a base: its rows, its vector collection, its folder with every file."""
        validate_kb_name(name)
        with self.stores.writers.hold(name):
            self.db.transact(crud.delete_kb, name=name)
            self.stores.discard(name).files.destroy()

    # Files.

    def add_files(
        self,
        *,
        name: str,
        files: Sequence[tuple[str, bytes]],
        override: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
        progress: Progress | None = None,
        max_file_bytes: int | None = None,
    ) -> builtins.list[FileResult]:
        """Store and index `files` (name, bytes), one result each, in order.

        Refused whole, before anything is written: a bad or repeated name, an
        empty file, a file over `max_file_bytes` (default: the setting), bad
        chunking. After that each file succeeds or fails alone. Content that is
        already indexed in this base is skipped unless `override`; a file with
        an existing name and new content replaces the old one.
        """
        limit = self.max_file_bytes if max_file_bytes is None else max_file_bytes
        uploads = checked_uploads(files, chunk_size=chunk_size, chunk_overlap=chunk_overlap, max_file_bytes=limit)
        with self.stores.writers.hold(name):
            return self._indexer(name).index(uploads, override=override, progress=progress)

    def list_files(self, *, name: str) -> builtins.list[KnowledgeFilePublic]:
        kb = self._kb(name)
        return [KnowledgeFilePublic.model_validate(row) for row in self.db.transact(crud.list_files, kb_id=kb.id)]

    def file_path(self, *, name: str, file_name: str) -> Path:
        """Where the file's bytes are, as uploaded (for downloads)."""
        kb = self._kb(name)
        self.db.transact(crud.get_file, kb_id=kb.id, name=validate_file_name(file_name))
        return self.stores.open(name).files.path(file_name)

    def delete_file(self, *, name: str, file_name: str, keep_content: bool = False) -> None:
        """Delete a file's row, then its chunks from both indexes, then its bytes (unless
        `keep_content`: Chatchat's `delete_content: false` leaves the file in content/)."""
        validate_file_name(file_name)
        with self.stores.writers.hold(name):
            kb = self._kb(name)
            self.db.transact(crud.get_file, kb_id=kb.id, name=file_name)
            self.db.transact(crud.delete_file, kb_id=kb.id, name=file_name)
            stores = self.stores.open(name)
            stores.delete_chunks(file_name)
            if not keep_content:
                stores.files.delete(file_name)
            self.db.transact(crud.touch_kb, kb_id=kb.id)

    def reindex(self, *, name: str, progress: Progress | None = None) -> builtins.list[FileResult]:
        """Rebuild both indexes from the files in `<kb>/content/`, including files
        copied there by hand (with default chunking); a row whose file is gone fails."""
        with self.stores.writers.hold(name):
            return self._indexer(name).reindex(progress)

    # Search.

    def search(
        self, *, name: str, query: str, top_k: int = 3, score_threshold: float = DEFAULT_SCORE_THRESHOLD
    ) -> builtins.list[SearchHit]:
        """The `top_k` chunks that best match `query`, best first, each scoring at least
        `score_threshold` (relevance in 0..1; see `agent_service.knowledge.fusion`)."""
        return self.searcher.search(SearchRequest(name, query, top_k, score_threshold))

    async def asearch(
        self, *, name: str, query: str, top_k: int = 3, score_threshold: float = DEFAULT_SCORE_THRESHOLD
    ) -> builtins.list[SearchHit]:
        """`search`, from the event loop. Concurrent searches are run together in a
        worker thread: one query-embedding call and one vector query per base serve
        them all, and the searches that arrive meanwhile form the next batch."""
        return await self.searcher.asearch(SearchRequest(name, query, top_k, score_threshold))

    def search_many(self, requests: Sequence[SearchRequest]) -> builtins.list[builtins.list[SearchHit] | Exception]:
        """Each request's hits, or the error that refused or failed it."""
        return self.searcher.search_many(requests)

    # Start-up and shutdown.

    def fail_interrupted_files(self) -> builtins.list[str]:
        """Fail the files a stopped service left half-indexed, before serving (see
        `repair.fail_interrupted_files`). Returns their `kb/file` names."""
        return repair.fail_interrupted_files(self.db, self.stores)

    def upgrade_keyword_indexes(self) -> None:
        """Bring every base's keyword index up to the current segmentation (see `KeywordIndex.upgrade`)."""
        repair.upgrade_keyword_indexes(self.db, self.stores)

    def close(self) -> None:
        """Release every open vector store and the reranker's client (at shutdown)."""
        self.stores.close()
        self.searcher.close()

    # Helpers.

    def _kb(self, name: str) -> KnowledgeBase:
        return self.db.transact_read(crud.get_kb, name=validate_kb_name(name))

    def _vector_index(self, name: str) -> VectorIndex:
        # The tests look into a base's vector index through this.
        return self.stores.open(name).vectors

    def _indexer(self, name: str) -> Indexer:
        kb = self._kb(name)
        check_embedding_model(kb, self.embedding_model)
        return Indexer(db=self.db, kb=kb, stores=self.stores.open(name))
