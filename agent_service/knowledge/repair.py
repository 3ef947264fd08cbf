"""Putting right, at start-up, what an earlier run left in the knowledge bases.

A file whose indexing a stopped service cut short is still `indexing`, some of
its chunks in the indexes; a keyword index made by an older version holds
terms segmented the old way. Each repair takes the base's writer turn.
"""

from __future__ import annotations

from agent_service.db.engine import Database
from agent_service.knowledge import crud
from agent_service.knowledge.stores import StoreFactory

INTERRUPTED = "the service stopped while indexing this file; upload it again or reindex the knowledge base"


def fail_interrupted_files(db: Database, stores: StoreFactory) -> list[str]:
    """Files a stopped service left `indexing`: their partial chunks leave both
    indexes and the row becomes `failed`, saying so. Call before serving. A
    base that a live replica is writing (it holds the base's turn) is left
    alone: its files are being indexed, not left. Returns `kb/file` names."""
    failed = []
    for kb_name, row in db.transact_read(crud.files_being_indexed):
        with stores.writers.try_hold(kb_name) as free:
            if not free:
                continue
            stores.open(kb_name).delete_chunks(row.name)
            row.sqlmodel_update({"status": "failed", "chunk_count": 0, "error": INTERRUPTED})
            db.transact(crud.save_file, row=row)
        failed.append(f"{kb_name}/{row.name}")
    return failed


def upgrade_keyword_indexes(db: Database, stores: StoreFactory) -> None:
    """Bring every base's keyword index up to the current segmentation (see `KeywordIndex.upgrade`)."""
    for kb in db.transact(crud.list_kbs):
        with stores.writers.hold(kb.name):
            stores.open(kb.name).keywords.upgrade()
