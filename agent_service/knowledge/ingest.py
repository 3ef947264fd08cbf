"""Indexing files into one knowledge base, keeping its three stores agreeing.

For each file, in this order: its row is saved as `indexing`; its bytes
replace the stored file of that name; its old chunks leave both indexes;
the new chunks are embedded and stored in batches, then added to the keyword
index in one transaction; only then is the row `indexed`. Any failure removes
whatever chunks the file got and leaves the row `failed` with the reason, so
one bad file never stops the others. Searches only show chunks of `indexed`
files, so a crash part-way leaves nothing half-visible.

Reindexing rebuilds both indexes from the stored files: every row becomes
`indexing` (hidden from searches), both indexes are emptied, and each file is
indexed again with its own chunking (the default for a file put there by hand).

Everything here is blocking; callers run it in a worker thread and make the
writers of one base take turns.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from langchain_core.documents import Document

from agent_service.db.engine import Database
from agent_service.errors import ServiceError
from agent_service.knowledge import crud
from agent_service.knowledge.embeddings import BATCH_SIZE
from agent_service.knowledge.errors import EmptyFileError, FileTooLargeError, LoaderError
from agent_service.knowledge.keyword_index import IndexedChunk
from agent_service.knowledge.loaders import load_file
from agent_service.knowledge.models import FileResult, KnowledgeBase, KnowledgeFile
from agent_service.knowledge.names import validate_file_name
from agent_service.knowledge.splitter import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, check_chunking, split_file
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


def checked_uploads(
    files: Sequence[tuple[str, bytes]], *, chunk_size: int, chunk_overlap: int, max_file_bytes: int
) -> list[Upload]:
    """`files` (name, bytes) to index, or the error that refuses them all: no file, bad
    chunking, a bad or repeated name, an empty file, a file over `max_file_bytes`."""
    if not files:
        raise ServiceError("no files to add")
    check_chunking(chunk_size, chunk_overlap)
    names = [validate_file_name(file_name) for file_name, _ in files]
    if len(set(names)) != len(names):
        raise ServiceError("the same file name appears twice in one upload")
    for file_name, data in files:
        if not data:
            raise EmptyFileError(f"file {file_name!r} is empty")
        if len(data) > max_file_bytes:
            raise FileTooLargeError(f"file {file_name!r} has {len(data)} bytes, over the limit of {max_file_bytes}")
    return [Upload(file_name, data, chunk_size, chunk_overlap) for file_name, data in files]


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

    def reindex(self, progress: Progress | None = None) -> list[FileResult]:
        """Rebuild both indexes from the stored files, including files put there by
        hand; a stored name that is not valid, or a row whose file is gone, fails."""
        rows = {row.name: row for row in self.db.transact(crud.list_files, kb_id=self.kb.id)}
        stored = self.stores.files.names()
        results: list[FileResult] = []
        readable: list[str] = []
        for file_name in stored:
            try:
                readable.append(validate_file_name(file_name))
            except ServiceError as exc:
                results.append(FileResult(name=file_name, status="failed", reason=str(exc)))

        def uploads() -> Iterator[Upload]:
            # One file's bytes in memory at a time.
            for file_name in readable:
                row = rows.get(file_name)
                chunking = (row.chunk_size, row.chunk_overlap) if row else (DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_OVERLAP)
                yield Upload(file_name, self.stores.files.read(file_name), *chunking)

        self.db.transact(crud.mark_files_indexing, kb_id=self.kb.id)
        self.stores.vectors.clear()
        self.stores.keywords.clear()
        for file_name in rows.keys() - set(stored):
            row = rows[file_name]
            row.sqlmodel_update({"status": "failed", "chunk_count": 0, "error": "the file is missing from content/"})
            self.db.transact(crud.save_file, row=row)
            results.append(FileResult(name=file_name, status="failed", reason=row.error))
        return results + self.index(uploads(), override=True, store_bytes=False, progress=progress)

    def _indexed_name(self, sha256: str) -> str | None:
        row = self.db.transact(crud.find_indexed_by_hash, kb_id=self.kb.id, sha256=sha256)
        return row.name if row else None

    def _write(self, item: _Prepared, done: int, total: int, progress: Progress | None) -> FileResult:
        assert self.kb.id is not None  # a stored row
        row = self.db.transact(crud.find_file, kb_id=self.kb.id, name=item.name) or KnowledgeFile(
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
        row = self.db.transact(crud.save_file, row=row)
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
        self.db.transact(crud.save_file, row=row)
        self.db.transact(crud.touch_kb, kb_id=self.kb.id)
        if row.status == "indexed":
            return FileResult(name=item.name, status="indexed", chunk_count=row.chunk_count)
        return FileResult(name=item.name, status="failed", reason=row.error)


MAX_CHUNKS_PER_FILE = 10_000


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
    if len(item.chunks) > MAX_CHUNKS_PER_FILE:
        # Each chunk is embedded with the base's writer lock held: 80,000 of them took minutes.
        item.error = (
            f"the file makes {len(item.chunks)} chunks at chunk_size {upload.chunk_size}, over the limit of "
            f"{MAX_CHUNKS_PER_FILE}: use a larger chunk_size"
        )
        item.chunks = []
    return item


def _indexed(file_name: str, chunk: Document) -> IndexedChunk:
    return IndexedChunk(id=uuid.uuid4().hex, file=file_name, text=chunk.page_content, metadata=chunk.metadata)
