"""`/knowledge_bases`: create bases, upload files, search them.

Storage work is blocking (parsing, embedding, Chroma): it runs in worker
threads so the service keeps answering while a base is being indexed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from fastapi import APIRouter, File, Form, Path, Response, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, WithJsonSchema

from agent_service.api.deps import ServicesDep
from agent_service.api.documents import document_response
from agent_service.knowledge.errors import FileTooLargeError
from agent_service.knowledge.fusion import DEFAULT_SCORE_THRESHOLD
from agent_service.knowledge.models import FileResult, KnowledgeBasePublic, KnowledgeFilePublic, SearchHit
from agent_service.knowledge.names import KB_NAME_MAX_CHARS, NAME_PATTERN, NOT_BLANK
from agent_service.knowledge.service import KnowledgeBaseService
from agent_service.knowledge.splitter import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE
from agent_service.protocols.schema_marks import one_of
from agent_service.streaming.progress import ProgressDone, with_progress
from agent_service.streaming.responses import sse_response

router = APIRouter(prefix="/knowledge_bases", tags=["knowledge bases"])

KbName = Annotated[
    str,
    Path(
        description="A knowledge base's name.",
        json_schema_extra={"pattern": NAME_PATTERN, "maxLength": KB_NAME_MAX_CHARS},
    ),
]
FileName = Annotated[
    str,
    Path(
        description="A file's name (at most 255 bytes).", json_schema_extra={"pattern": NAME_PATTERN, "maxLength": 255}
    ),
]

# An empty file refuses the whole upload. FastAPI's schema of a file, plus a least size
# (the length of binary content is its size).
NonEmptyFile = Annotated[
    UploadFile, WithJsonSchema({"type": "string", "contentMediaType": "application/octet-stream", "minLength": 1})
]

T = TypeVar("T")


class KnowledgeBaseCreate(BaseModel):
    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN, "maxLength": KB_NAME_MAX_CHARS})
    description: str = ""
    embedding_model: Annotated[str, one_of("embedding_model")] | Literal[""] | None = Field(
        None, description="Must be the configured one; empty means that."
    )


class KnowledgeBaseUpdate(BaseModel):
    description: str


class SearchRequest(BaseModel):
    query: str = Field(json_schema_extra={"pattern": NOT_BLANK})
    top_k: int = Field(3, ge=1, le=100)
    score_threshold: float = Field(
        DEFAULT_SCORE_THRESHOLD, ge=0.0, le=1.0, description="The least relevance (0..1) a hit may have."
    )


async def run(work: Callable[..., T], /, **kwargs: Any) -> T:
    """The knowledge service's blocking work, in a worker thread."""
    return await anyio.to_thread.run_sync(lambda: work(**kwargs))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KnowledgeBasePublic)
async def create_knowledge_base(body: KnowledgeBaseCreate, services: ServicesDep):
    return await run(
        services.knowledge.create, name=body.name, description=body.description, embedding_model=body.embedding_model
    )


@router.get("", response_model=list[KnowledgeBasePublic])
async def list_knowledge_bases(services: ServicesDep):
    return await run(services.knowledge.list)


@router.get("/{kb}", response_model=KnowledgeBasePublic)
async def get_knowledge_base(kb: KbName, services: ServicesDep):
    return await run(services.knowledge.get, name=kb)


@router.patch("/{kb}", response_model=KnowledgeBasePublic)
async def update_knowledge_base(kb: KbName, body: KnowledgeBaseUpdate, services: ServicesDep):
    return await run(services.knowledge.update, name=kb, description=body.description)


@router.delete("/{kb}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_knowledge_base(kb: KbName, services: ServicesDep) -> Response:
    await run(services.knowledge.delete, name=kb)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """An upload's bytes; one over `max_bytes` is refused (413) before it is read into
    memory (multipart keeps uploads on disk until here)."""
    name = upload.filename or ""
    if upload.size is not None and upload.size > max_bytes:
        raise FileTooLargeError(f"file {name!r} has {upload.size} bytes, over the limit of {max_bytes}")
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLargeError(f"file {name!r} is over the limit of {max_bytes} bytes")
    return data


async def read_uploads(files: list[UploadFile], max_bytes: int) -> list[tuple[str, bytes]]:
    return [(upload.filename or "", await read_upload(upload, max_bytes)) for upload in files]


async def _indexing(service: KnowledgeBaseService, method: str, **kwargs: Any) -> AsyncIterator[Any]:
    """Progress events, then `done` with the per-file results.

    Awaited before the response starts: the service checks the whole request
    before its first report, so a refusal is a 4xx, not a stream cut short.
    """
    work = with_progress(lambda report: getattr(service, method)(progress=report, **kwargs))
    first = await anext(work)

    def event(item: Any) -> BaseModel:
        return item if isinstance(item, BaseModel) else ProgressDone(results=item)

    async def events() -> AsyncIterator[Any]:
        async with aclosing(work):
            yield event(first)
            async for item in work:
                yield event(item)

    return events()


@router.post("/{kb}/files", response_model=list[FileResult])
async def upload_files(
    kb: KbName,
    services: ServicesDep,
    files: Annotated[list[NonEmptyFile], File(min_length=1, description="One or more files, none empty.")],
    override: Annotated[bool, Form()] = False,
    chunk_size: Annotated[int, Form(ge=MIN_CHUNK_SIZE, le=MAX_CHUNK_SIZE)] = DEFAULT_CHUNK_SIZE,
    chunk_overlap: Annotated[int, Form(ge=0, lt=MAX_CHUNK_SIZE, description="Less than chunk_size.")] = (
        DEFAULT_CHUNK_OVERLAP
    ),
    stream: Annotated[bool, Form(description="Stream progress as SSE.")] = False,
):
    """Store and index files; each succeeds or fails alone (`status`, `reason`)."""
    await run(services.knowledge.get, name=kb)  # a missing base is a 404, not a stream
    kwargs = dict(
        name=kb,
        files=await read_uploads(files, services.knowledge.max_file_bytes),
        override=override,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
    )
    if stream:
        return sse_response(await _indexing(services.knowledge, "add_files", **kwargs))
    return await run(services.knowledge.add_files, **kwargs)


@router.get("/{kb}/files", response_model=list[KnowledgeFilePublic])
async def list_files(kb: KbName, services: ServicesDep):
    return await run(services.knowledge.list_files, name=kb)


@router.get("/{kb}/files/{file_name}")
async def download_file(kb: KbName, file_name: FileName, services: ServicesDep) -> FileResponse:
    path = await run(services.knowledge.file_path, name=kb, file_name=file_name)
    return document_response(path, file_name)


@router.delete("/{kb}/files/{file_name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_file(kb: KbName, file_name: FileName, services: ServicesDep) -> Response:
    await run(services.knowledge.delete_file, name=kb, file_name=file_name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{kb}/reindex")
async def reindex(kb: KbName, services: ServicesDep):
    """Rebuild the indexes from the files in the base's folder; SSE progress (total, done, current file)."""
    await run(services.knowledge.get, name=kb)
    return sse_response(await _indexing(services.knowledge, "reindex", name=kb))


@router.post("/{kb}/search", response_model=list[SearchHit])
async def search(kb: KbName, body: SearchRequest, services: ServicesDep):
    """Hybrid search (vectors + keywords); `score` is relevance in 0..1 (see the README)."""
    return await services.knowledge.asearch(
        name=kb, query=body.query, top_k=body.top_k, score_threshold=body.score_threshold
    )
