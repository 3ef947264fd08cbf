"""Knowledge-base tables and the shapes the service returns.

A knowledge base has files; a file row describes the bytes kept in
`<kb>/content/<name>`. Its status is `indexed` once every chunk is in both the
vector store and the keyword index, `failed` (with `error`) when it could not
be read or embedded (then it has no chunk anywhere), and `indexing` while its
chunks are being written. File and chunk counts of a base are computed from
its files, so they cannot drift.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from agent_service.db.models import utcnow

FileStatus = Literal["indexing", "indexed", "failed"]


class KnowledgeBase(SQLModel, table=True):
    __tablename__ = "knowledge_base"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    embedding_model: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class KnowledgeFile(SQLModel, table=True):
    __tablename__ = "knowledge_file"
    __table_args__ = (UniqueConstraint("kb_id", "name", name="uq_knowledge_file_kb_id_name"),)

    id: int | None = Field(default=None, primary_key=True)
    kb_id: int = Field(foreign_key="knowledge_base.id", index=True)
    name: str = Field(max_length=255)
    size: int  # bytes
    sha256: str = Field(max_length=64, index=True)
    loader: str = Field(default="", max_length=64)
    splitter: str = Field(default="", max_length=64)
    chunk_size: int
    chunk_overlap: int
    chunk_count: int = 0
    status: str = Field(default="indexing", max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class KeywordChunk(SQLModel, table=True):
    """A chunk in the keyword index kept in PostgreSQL (with shared stores; the embedded
    index is a SQLite FTS5 file per base): its text, and its terms as segmented for search."""

    __tablename__ = "keyword_chunk"
    __table_args__ = (
        UniqueConstraint("kb", "chunk_id", name="uq_keyword_chunk_kb_chunk_id"),
        Index("ix_keyword_chunk_terms", "terms", postgresql_using="gin"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kb: str = Field(max_length=100, index=True)
    chunk_id: str = Field(max_length=64)
    file: str = Field(max_length=255, index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    terms: list[str] = Field(sa_column=Column(JSON().with_variant(JSONB(), "postgresql"), nullable=False))
    length: int  # how many terms: a chunk's length for bm25


class KnowledgeBasePublic(BaseModel):
    name: str
    description: str
    embedding_model: str
    file_count: int  # files whose status is `indexed`
    chunk_count: int  # chunks of those files
    created_at: datetime
    updated_at: datetime


class KnowledgeFilePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    size: int
    sha256: str
    loader: str
    splitter: str
    chunk_size: int
    chunk_overlap: int
    chunk_count: int
    status: FileStatus
    error: str | None
    created_at: datetime
    updated_at: datetime


class FileResult(BaseModel):
    """What became of one uploaded file.

    `skipped`: the same content is already indexed in this base (`reason` names
    the file), and `override` was not set; nothing was written.
    """

    name: str
    status: Literal["indexed", "skipped", "failed"]
    chunk_count: int = 0
    reason: str | None = None  # why it failed or was skipped


class SearchHit(BaseModel):
    """One chunk found by a search. See `agent_service.knowledge.fusion` for what the scores mean."""

    text: str
    file: str
    chunk_index: int
    page: int | None = None  # 1-based, for PDFs
    score: float  # relevance in 0..1, higher is better (the reranker's, when one is configured)
    vector_score: float | None = None  # cosine similarity clamped to 0..1; None: not a vector candidate
    keyword_score: float | None = None  # idf-weighted share of the query's terms it holds; None: none
    metadata: dict[str, Any] = {}  # headings, CSV row, and what the loader knew
