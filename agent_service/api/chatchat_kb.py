"""Langchain-Chatchat 0.2's knowledge-base routes (`/knowledge_base/...`), a
thin layer over the same service, so Chatchat's clients and scripts work
unchanged.

Chatchat's conventions: JSON envelope `{code, msg, data}` with HTTP 200 even
for application errors (403 for a name that tries to leave its folder, 404
for a missing or duplicate base, 500 for a failure); search results are a
bare array. Chatchat's search `score` is a distance (lower is closer) and
its `score_threshold` the largest distance accepted, so here they are
`1 - relevance` of the service's 0..1 relevance: Chatchat's default, 1.0,
keeps the `top_k` best chunks whatever their relevance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Body, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from agent_service.api.deps import ServicesDep
from agent_service.api.documents import document_response
from agent_service.api.knowledge_bases import read_upload, run
from agent_service.errors import NotFoundError, ServiceError
from agent_service.knowledge.errors import InvalidNameError, KnowledgeBaseExistsError
from agent_service.knowledge.service import KnowledgeBaseService
from agent_service.streaming.progress import ProgressEvent, with_progress
from agent_service.streaming.responses import sse_response

router = APIRouter(prefix="/knowledge_base", tags=["chatchat 0.2 knowledge base"])


def relevance_from_distance(score_threshold: float) -> float:
    """Chatchat's `score_threshold` (the largest distance accepted) as the least relevance accepted."""
    return max(0.0, 1.0 - score_threshold)


def envelope(code: int = 200, msg: str = "success", data: Any = None) -> JSONResponse:
    return JSONResponse({"code": code, "msg": msg, "data": data})


def failure(exc: ServiceError, kb: str) -> JSONResponse:
    if isinstance(exc, InvalidNameError):
        if not kb.strip():
            return envelope(404, "知识库名称不能为空，请重新填写知识库名称")
        return envelope(403, "Don't attack me")
    if isinstance(exc, KnowledgeBaseExistsError):
        return envelope(404, f"已存在同名知识库 {kb}")
    if isinstance(exc, NotFoundError):
        return envelope(404, f"未找到知识库 {kb}")
    return envelope(500, str(exc))


class Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CreateRequest(Request):
    knowledge_base_name: str
    vector_store_type: str = "faiss"
    embed_model: str | None = None


class DeleteDocsRequest(Request):
    knowledge_base_name: str
    file_names: list[str]
    delete_content: bool = False
    not_refresh_vs_cache: bool = False


class SearchDocsRequest(Request):
    query: str = ""
    knowledge_base_name: str
    top_k: int = Field(3, ge=1, le=100)
    score_threshold: float = Field(1.0, ge=0.0, le=1.0)
    file_name: str = ""
    metadata: dict[str, Any] = {}


class UpdateInfoRequest(Request):
    knowledge_base_name: str
    kb_info: str


class RecreateRequest(Request):
    knowledge_base_name: str
    allow_empty_kb: bool = True
    vs_type: str = "faiss"
    embed_model: str | None = None
    chunk_size: int = 250
    chunk_overlap: int = 50
    zh_title_enhance: bool = False
    not_refresh_vs_cache: bool = False


@router.get("/list_knowledge_bases")
async def list_knowledge_bases(services: ServicesDep) -> JSONResponse:
    return envelope(data=[kb.name for kb in await run(services.knowledge.list)])


@router.post("/create_knowledge_base")
async def create_knowledge_base(body: CreateRequest, services: ServicesDep) -> JSONResponse:
    name = body.knowledge_base_name
    try:
        # Chatchat's own embed_model names don't apply here: the configured model is used.
        await run(services.knowledge.create, name=name)
    except ServiceError as exc:
        return failure(exc, name)
    return envelope(msg=f"已新增知识库 {name}")


@router.post("/delete_knowledge_base")
async def delete_knowledge_base(knowledge_base_name: Annotated[str, Body()], services: ServicesDep) -> JSONResponse:
    name = unquote(knowledge_base_name)
    try:
        await run(services.knowledge.delete, name=name)
    except ServiceError as exc:
        return failure(exc, name)
    return envelope(msg=f"成功删除知识库 {name}")


@router.get("/list_files")
async def list_files(knowledge_base_name: str, services: ServicesDep) -> JSONResponse:
    try:
        files = await run(services.knowledge.list_files, name=knowledge_base_name)
    except NotFoundError:
        return envelope(404, f"未找到知识库 {knowledge_base_name}", [])
    except ServiceError as exc:
        return failure(exc, knowledge_base_name)
    return envelope(data=[file.name for file in files])


def _form_bool(value: str | bool) -> bool:
    return value if isinstance(value, bool) else value.strip().lower() in {"true", "1", "yes", "on"}


@router.post("/upload_docs")
async def upload_docs(
    services: ServicesDep,
    files: Annotated[list[UploadFile], File(min_length=1)],
    knowledge_base_name: Annotated[str, Form(min_length=1)],
    override: Annotated[str, Form()] = "false",
    to_vector_store: Annotated[str, Form()] = "true",
    chunk_size: Annotated[str, Form()] = "250",
    chunk_overlap: Annotated[str, Form()] = "50",
    zh_title_enhance: Annotated[str, Form()] = "false",
    docs: Annotated[str, Form()] = "{}",
    not_refresh_vs_cache: Annotated[str, Form()] = "false",
) -> JSONResponse:
    name = knowledge_base_name
    try:
        await run(services.knowledge.get, name=name)
    except ServiceError as exc:
        return failure(exc, name)
    failed: dict[str, str] = {}
    # One file at a time: in Chatchat each file fails alone, whatever the reason.
    for upload in files:
        file_name = upload.filename or ""
        try:
            data = await read_upload(upload, services.knowledge.max_file_bytes)
            [result] = await run(
                services.knowledge.add_files,
                name=name,
                files=[(file_name, data)],
                override=_form_bool(override),
                chunk_size=int(chunk_size or 250),
                chunk_overlap=int(chunk_overlap or 50),
            )
        except (ServiceError, ValueError) as exc:
            failed[file_name] = f"{file_name} 文件上传失败，报错信息为: {exc}"
            continue
        if result.status == "skipped":
            failed[file_name] = f"文件 {file_name} 已存在。"
        elif result.status == "failed":
            failed[file_name] = f"{file_name} 文件上传失败，报错信息为: {result.reason}"
    return envelope(msg="文件上传与向量化完成", data={"failed_files": failed})


@router.post("/delete_docs")
async def delete_docs(body: DeleteDocsRequest, services: ServicesDep) -> JSONResponse:
    name = body.knowledge_base_name
    try:
        await run(services.knowledge.get, name=name)
    except ServiceError as exc:
        return failure(exc, name)
    failed: dict[str, str] = {}
    for file_name in body.file_names:
        try:
            await run(
                services.knowledge.delete_file, name=name, file_name=file_name, keep_content=not body.delete_content
            )
        except NotFoundError:
            failed[file_name] = f"未找到文件 {file_name}"
        except ServiceError as exc:
            failed[file_name] = f"{file_name} 文件删除失败，错误信息：{exc}"
    return envelope(msg="文件删除完成", data={"failed_files": failed})


@router.post("/search_docs")
async def search_docs(body: SearchDocsRequest, services: ServicesDep) -> list[dict[str, Any]]:
    if not body.query.strip():
        return []
    try:
        hits = await services.knowledge.asearch(
            name=body.knowledge_base_name,
            query=body.query,
            top_k=body.top_k,
            score_threshold=relevance_from_distance(body.score_threshold),
        )
    except ServiceError:
        return []  # Chatchat answers a missing or empty base with no documents
    return [
        {
            "page_content": hit.text,
            "metadata": {**hit.metadata, "source": hit.file, "chunk_index": hit.chunk_index, "relevance": hit.score},
            "type": "Document",
            "id": f"{hit.file}#{hit.chunk_index}",
            "score": round(1.0 - hit.score, 6),
        }
        for hit in hits
        if not body.file_name or hit.file == body.file_name
    ]


@router.post("/update_info")
async def update_info(body: UpdateInfoRequest, services: ServicesDep) -> JSONResponse:
    try:
        await run(services.knowledge.update, name=body.knowledge_base_name, description=body.kb_info)
    except ServiceError as exc:
        return failure(exc, body.knowledge_base_name)
    return envelope(msg="知识库介绍修改完成", data={"kb_info": body.kb_info})


@router.post("/recreate_vector_store")
async def recreate_vector_store(body: RecreateRequest, services: ServicesDep):
    name = body.knowledge_base_name
    knowledge: KnowledgeBaseService = services.knowledge
    try:
        await run(knowledge.get, name=name)
    except NotFoundError:
        if not body.allow_empty_kb:
            return sse_response(_single(envelope_event(404, f"未找到知识库 ‘{name}’")))
        try:
            await run(knowledge.create, name=name)
        except ServiceError as exc:
            return failure(exc, name)
    except ServiceError as exc:
        return failure(exc, name)

    async def events() -> AsyncIterator[BaseModel]:
        async for item in with_progress(lambda report: knowledge.reindex(name=name, progress=report)):
            if isinstance(item, ProgressEvent):
                yield item
            else:
                for result in item:
                    if result.status == "failed":
                        yield envelope_event(
                            500, f"添加文件‘{result.name}’到知识库‘{name}’时出错：{result.reason}。已跳过。"
                        )

    return sse_response(events())


class EnvelopeEvent(BaseModel):
    code: int
    msg: str


def envelope_event(code: int, msg: str) -> EnvelopeEvent:
    return EnvelopeEvent(code=code, msg=msg)


async def _single(event: BaseModel) -> AsyncIterator[BaseModel]:
    yield event


@router.get("/download_doc", response_model=None)
async def download_doc(
    services: ServicesDep,
    knowledge_base_name: str,
    file_name: str,
    preview: Annotated[
        bool, Query(description="accepted from Chatchat clients; the file is an attachment either way")
    ] = False,
) -> FileResponse | JSONResponse:
    try:
        path = await run(services.knowledge.file_path, name=knowledge_base_name, file_name=file_name)
    except NotFoundError:
        return envelope(404, f"未找到知识库 {knowledge_base_name}")
    except ServiceError as exc:
        return failure(exc, knowledge_base_name)
    return document_response(path, file_name)
