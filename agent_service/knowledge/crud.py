"""Keyword-only database functions for knowledge bases and their files; each
commits its own work."""

from __future__ import annotations

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agent_service.db.models import utcnow
from agent_service.knowledge.errors import (
    KnowledgeBaseExistsError,
    KnowledgeBaseNotFoundError,
    KnowledgeFileNotFoundError,
)
from agent_service.knowledge.models import KnowledgeBase, KnowledgeBasePublic, KnowledgeFile


def get_kb(*, session: Session, name: str) -> KnowledgeBase:
    kb = session.exec(select(KnowledgeBase).where(KnowledgeBase.name == name)).first()
    if kb is None:
        raise KnowledgeBaseNotFoundError(f"knowledge base {name!r} not found")
    return kb


def create_kb(*, session: Session, name: str, description: str, embedding_model: str) -> KnowledgeBase:
    kb = KnowledgeBase(name=name, description=description, embedding_model=embedding_model)
    session.add(kb)
    try:
        session.commit()
    except IntegrityError as exc:  # another writer took the name first
        session.rollback()
        raise KnowledgeBaseExistsError(f"knowledge base {name!r} already exists") from exc
    return kb


def kb_exists(*, session: Session, name: str) -> bool:
    return session.exec(select(KnowledgeBase.id).where(KnowledgeBase.name == name)).first() is not None


def list_kbs(*, session: Session) -> list[KnowledgeBasePublic]:
    """Every knowledge base by name, with the files and chunks it has indexed."""
    counts = session.exec(
        select(KnowledgeFile.kb_id, func.count(), func.coalesce(func.sum(KnowledgeFile.chunk_count), 0))
        .where(KnowledgeFile.status == "indexed")
        .group_by(col(KnowledgeFile.kb_id))
    ).all()
    by_kb = {kb_id: (files, chunks) for kb_id, files, chunks in counts}
    kbs = session.exec(select(KnowledgeBase).order_by(col(KnowledgeBase.name))).all()
    return [_public(kb, *by_kb.get(kb.id or 0, (0, 0))) for kb in kbs]


def kb_public(*, session: Session, name: str) -> KnowledgeBasePublic:
    kb = get_kb(session=session, name=name)
    files, chunks = session.exec(
        select(func.count(), func.coalesce(func.sum(KnowledgeFile.chunk_count), 0)).where(
            KnowledgeFile.kb_id == kb.id, KnowledgeFile.status == "indexed"
        )
    ).one()
    return _public(kb, files, chunks)


def _public(kb: KnowledgeBase, file_count: int, chunk_count: int) -> KnowledgeBasePublic:
    return KnowledgeBasePublic(
        **kb.model_dump(include={"name", "description", "embedding_model", "created_at", "updated_at"}),
        file_count=file_count,
        chunk_count=chunk_count,
    )


def update_kb(*, session: Session, name: str, description: str) -> None:
    kb = get_kb(session=session, name=name)
    kb.description = description
    kb.updated_at = utcnow()
    session.add(kb)
    session.commit()


def touch_kb(*, session: Session, kb_id: int) -> None:
    kb = session.get(KnowledgeBase, kb_id)
    if kb is not None:
        kb.updated_at = utcnow()
        session.add(kb)
        session.commit()


def delete_kb(*, session: Session, name: str) -> None:
    """Delete a knowledge base's rows, its files' and its own, in one transaction."""
    kb = get_kb(session=session, name=name)
    session.exec(delete(KnowledgeFile).where(col(KnowledgeFile.kb_id) == kb.id))
    session.exec(delete(KnowledgeBase).where(col(KnowledgeBase.id) == kb.id))
    session.commit()


def list_files(*, session: Session, kb_id: int) -> list[KnowledgeFile]:
    return list(
        session.exec(select(KnowledgeFile).where(KnowledgeFile.kb_id == kb_id).order_by(col(KnowledgeFile.name))).all()
    )


def find_file(*, session: Session, kb_id: int, name: str) -> KnowledgeFile | None:
    return session.exec(select(KnowledgeFile).where(KnowledgeFile.kb_id == kb_id, KnowledgeFile.name == name)).first()


def get_file(*, session: Session, kb_id: int, name: str) -> KnowledgeFile:
    row = find_file(session=session, kb_id=kb_id, name=name)
    if row is None:
        raise KnowledgeFileNotFoundError(f"file {name!r} not found in the knowledge base")
    return row


def find_indexed_by_hash(*, session: Session, kb_id: int, sha256: str) -> KnowledgeFile | None:
    return session.exec(
        select(KnowledgeFile).where(
            KnowledgeFile.kb_id == kb_id, KnowledgeFile.sha256 == sha256, KnowledgeFile.status == "indexed"
        )
    ).first()


def indexed_file_names(*, session: Session, kb_id: int) -> set[str]:
    rows = session.exec(
        select(KnowledgeFile.name).where(KnowledgeFile.kb_id == kb_id, KnowledgeFile.status == "indexed")
    ).all()
    return set(rows)


def search_scope(*, session: Session, name: str) -> tuple[KnowledgeBase, set[str], bool]:
    """What a search needs, in one read: the base, its indexed files, whether any file is being indexed."""
    kb = get_kb(session=session, name=name)
    assert kb.id is not None  # a stored row
    return kb, indexed_file_names(session=session, kb_id=kb.id), has_files_being_indexed(session=session, kb_id=kb.id)


def files_being_indexed(*, session: Session) -> list[tuple[str, KnowledgeFile]]:
    """Every file row still `indexing`, with its base's name."""
    query = (
        select(KnowledgeBase.name, KnowledgeFile)
        .join(KnowledgeFile, col(KnowledgeFile.kb_id) == col(KnowledgeBase.id))
        .where(KnowledgeFile.status == "indexing")
    )
    return [(name, row) for name, row in session.exec(query).all()]


def has_files_being_indexed(*, session: Session, kb_id: int) -> bool:
    """Files whose chunks may be half-stored (a failed file's chunks are removed when it fails)."""
    query = select(KnowledgeFile.id).where(KnowledgeFile.kb_id == kb_id, KnowledgeFile.status == "indexing")
    return session.exec(query.limit(1)).first() is not None


def save_file(*, session: Session, row: KnowledgeFile) -> KnowledgeFile:
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    return row


def mark_files_indexing(*, session: Session, kb_id: int) -> None:
    """Hide every file of a base from searches, while its indexes are rebuilt."""
    session.exec(
        update(KnowledgeFile).where(col(KnowledgeFile.kb_id) == kb_id).values(status="indexing", updated_at=utcnow())
    )
    session.commit()


def delete_file(*, session: Session, kb_id: int, name: str) -> None:
    session.exec(delete(KnowledgeFile).where(col(KnowledgeFile.kb_id) == kb_id, col(KnowledgeFile.name) == name))
    session.commit()
