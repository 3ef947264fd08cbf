"""Indexing files into one knowledge base, keeping its three stores agreeing.

For each file, in this order: its row is saved as `indexing`; its bytes
replace the stored file of that name; its old chunks leave both indexes; the new
chunks are embedded and stored in batches, then added to the keyword index
in one transaction; only then is the row `indexed`. Any failure removes
whatever chunks the file got and leaves the row `failed` with the reason, so
one bad file never stops the others. Searches only show chunks of `indexed`
files, so a crash part-way leaves nothing half-visible.

Everything here is blocking; callers run it in a worker thread and make the
writers of one base take turns.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from langchain_core.documents import Document

from agent_service.db.engine import Database
from agent_service.knowledge import crud
from agent_service.knowledge.embeddings import BATCH_SIZE
from agent_service.knowledge.errors import LoaderError
from agent_service.knowledge.keyword_index import IndexedChunk
from agent_service.knowledge.loaders import load_file
from agent_service.knowledge.models import FileResult, KnowledgeBase, KnowledgeFile
from agent_service.knowledge.splitter import split_file
from agent_service.knowledge.stores import KnowledgeBaseStores

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called after each stored batch with (chunks done, chunks in this request, current file name)."""


@dataclass
class Upload:
    name: str  # already validated
    data: bytes
    chunk_size: int
    chunk_overlap: int


@dataclass
class _Prepared:
    name: str
    size: int
    sha256: str
    chunk_size: int
    chunk_overlap: int
    data: bytes | None  # kept only when it is to be stored
    loader: str = ""
    splitter: str = ""
    chunks: list[Document] = field(default_factory=list)
    error: str | None = None


@dataclass
class Indexer:
    db: Database
    kb: KnowledgeBase
    stores: KnowledgeBaseStores

    def index(
        self, uploads: Iterable[Upload], *, override: bool, store_bytes: bool = True, progress: Progress | None = None
    ) -> list[FileResult]:
        """Index `uploads` in order. Without `override`, content already indexed in
        this base (or earlier in `uploads`) is skipped and nothing is written for it.

        Every file is loaded and split before the first is written, so progress
        can count chunks; only the chunks are kept, and the bytes if `store_bytes`.
        """
        results: dict[str, FileResult] = {}
        prepared: list[_Prepared] = []
        seen: dict[str, str] = {}  # sha256 -> file name, within this request
        order: list[str] = []
        for upload in uploads:
            order.append(upload.name)
            sha256 = hashlib.sha256(upload.data).hexdigest()
            same = None if override else seen.get(sha256) or self._indexed_name(sha256)
            if same is not None:
                reason = "already indexed" if same == upload.name else f"same content as {same!r}, already indexed"
                results[upload.name] = FileResult(name=upload.name, status="skipped", reason=reason)
                continue
            seen[sha256] = upload.name
            prepared.append(_prepare(upload, sha256, keep_bytes=store_bytes))

        total = sum(len(item.chunks) for item in prepared)
        done = 0
        for item in prepared:
            results[item.name] = self._write(item, done, total, progress)
            done += len(item.chunks)
        return [results[name] for name in order]

    def _indexed_name(self, sha256: str) -> str | None:
        row = self.db.call(crud.find_indexed_by_hash, kb_id=self.kb.id, sha256=sha256)
        return row.name if row else None

    def _write(self, item: _Prepared, done: int, total: int, progress: Progress | None) -> FileResult:
        row = self.db.call(crud.find_file, kb_id=self.kb.id, name=item.name) or KnowledgeFile(
            kb_id=self.kb.id, name=item.name, size=0, sha256="", chunk_size=0, chunk_overlap=0
        )
        row.sqlmodel_update(
            {
                "size": item.size,
                "sha256": item.sha256,
                "loader": item.loader,
                "splitter": item.splitter,
                "chunk_size": item.chunk_size,
                "chunk_overlap": item.chunk_overlap,
                "chunk_count": 0,
                "status": "indexing",
                "error": None,
            }
        )
        row = self.db.call(crud.save_file, row=row)
        try:
            if item.data is not None:
                self.stores.files.write(item.name, item.data)
            self.stores.delete_chunks(item.name)
            if item.error:
                raise LoaderError(item.error)
            chunks = [_indexed(item.name, chunk) for chunk in item.chunks]
            for start in range(0, len(chunks), BATCH_SIZE):
                batch = chunks[start : start + BATCH_SIZE]
                self.stores.vectors.add(batch)
                if progress:
                    progress(done + start + len(batch), total, item.name)
            self.stores.keywords.add(chunks)
            row.sqlmodel_update({"status": "indexed", "chunk_count": len(chunks)})
        except Exception as exc:
            if not isinstance(exc, LoaderError):
                logger.exception("indexing %r into knowledge base %r failed", item.name, self.kb.name)
            self.stores.delete_chunks(item.name)
            row.sqlmodel_update({"status": "failed", "error": str(exc) or type(exc).__name__})
        self.db.call(crud.save_file, row=row)
        self.db.call(crud.touch_kb, kb_id=self.kb.id)
        if row.status == "indexed":
            return FileResult(name=item.name, status="indexed", chunk_count=row.chunk_count)
        return FileResult(name=item.name, status="failed", reason=row.error)


def _prepare(upload: Upload, sha256: str, *, keep_bytes: bool) -> _Prepared:
    """Load and split in memory, before anything is written; a LoaderError becomes the file's reason."""
    item = _Prepared(
        name=upload.name,
        size=len(upload.data),
        sha256=sha256,
        chunk_size=upload.chunk_size,
        chunk_overlap=upload.chunk_overlap,
        data=upload.data if keep_bytes else None,
    )
    try:
        loaded = load_file(upload.name, upload.data)
        item.loader = loaded.loader
        item.splitter, item.chunks = split_file(
            upload.name, loaded, chunk_size=upload.chunk_size, chunk_overlap=upload.chunk_overlap
        )
    except LoaderError as exc:
        item.error = str(exc)
    return item


def _indexed(file_name: str, chunk: Document) -> IndexedChunk:
    return IndexedChunk(id=uuid.uuid4().hex, file=file_name, text=chunk.page_content, metadata=chunk.metadata)
