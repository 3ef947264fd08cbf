"""Each base's stores: embedded on SQLite, shared on PostgreSQL, opened once per base."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent_service.config import Settings
from agent_service.db.engine import Database, create_db_engine
from agent_service.knowledge.embeddings import HashedEmbeddings
from agent_service.knowledge.errors import InvalidNameError
from agent_service.knowledge.files import DirectoryFileStore
from agent_service.knowledge.keyword_index import IndexedChunk, KeywordIndex
from agent_service.knowledge.keyword_index_pg import PostgresKeywordIndex
from agent_service.knowledge.stores import StoreFactory
from agent_service.knowledge.writers import PostgresWriterLocks, ProcessWriterLocks


@contextmanager
def factory_on(url: str, tmp_path: Path, **settings: str) -> Iterator[StoreFactory]:
    engine = create_db_engine(url)
    settings_ = Settings(data_dir=tmp_path / "data", kb_root=tmp_path / "kb", **settings)
    stores = StoreFactory(settings_, Database(engine), HashedEmbeddings())
    try:
        yield stores
    finally:
        stores.close()
        engine.dispose()


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[StoreFactory]:
    with factory_on(f"sqlite:///{tmp_path / 'data' / 'agent_service.db'}", tmp_path) as stores:
        yield stores


def test_on_sqlite_every_store_is_embedded_in_the_base_folder(embedded: StoreFactory, tmp_path: Path):
    stores = embedded.open("手册")

    assert isinstance(embedded.writers, ProcessWriterLocks) and not isinstance(embedded.writers, PostgresWriterLocks)
    assert (
        isinstance(stores.keywords, KeywordIndex)
        and stores.keywords.path == tmp_path / "kb" / "手册" / "keyword_index.db"
    )
    assert (stores.vectors.path, stores.vectors.chroma_url) == (tmp_path / "kb" / "手册" / "vector_store", None)
    assert isinstance(stores.files, DirectoryFileStore) and stores.files.paths.root == tmp_path / "kb" / "手册"


def test_on_postgresql_the_keyword_index_and_the_turns_are_the_databases(tmp_path: Path):
    # Nothing here connects: the dialect alone chooses.
    url = "postgresql+psycopg://agents@127.0.0.1:9/none"
    with factory_on(url, tmp_path, chroma_url="http://127.0.0.1:9") as shared:
        stores = shared.open("manuals")

        assert isinstance(shared.writers, PostgresWriterLocks)
        assert isinstance(stores.keywords, PostgresKeywordIndex) and stores.keywords.kb == "manuals"
        assert stores.vectors.chroma_url == "http://127.0.0.1:9"
        assert isinstance(stores.files, DirectoryFileStore) and stores.files.paths.root == tmp_path / "kb" / "manuals"


def test_a_base_is_opened_once_until_its_indexes_are_discarded(embedded: StoreFactory, tmp_path: Path):
    stores = embedded.open("kb")
    stores.files.write("a.txt", b"alpha")
    chunk = IndexedChunk(id="c1", file="a.txt", text="alpha", metadata={"file": "a.txt"})
    stores.vectors.add([chunk])
    stores.keywords.add([chunk])
    assert embedded.open("kb") is stores

    discarded = embedded.discard("kb")

    assert discarded is stores
    assert not (tmp_path / "kb" / "kb" / "vector_store").exists()
    assert not (tmp_path / "kb" / "kb" / "keyword_index.db").exists()
    assert stores.files.names() == ["a.txt"]  # the files are the caller's to keep or destroy
    reopened = embedded.open("kb")
    assert reopened is not stores and reopened.vectors.count() == reopened.keywords.count() == 0


def test_a_name_that_cannot_be_a_folder_opens_nothing(embedded: StoreFactory):
    with pytest.raises(InvalidNameError):
        embedded.open("../outside")
