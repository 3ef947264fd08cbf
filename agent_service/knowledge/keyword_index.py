"""The keyword half of hybrid search: a SQLite FTS5 index per knowledge base,
in `<kb>/keyword_index.db`, updated with its files and never rebuilt per query.

FTS5 cannot split Chinese into words nor names into their parts, so text is
segmented first (`agent_service.knowledge.tokenize`) and FTS5 indexes the
terms. A query matches chunks holding any of its terms, ranked by bm25. Each
result also says how much of the query a chunk covers (`coverage`): the share
of the query's terms it holds, each term weighted by its rarity in the base
(idf), so the number means the same from one query and one base to the next.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agent_service.knowledge.tokenize import query_terms, segment

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    file TEXT NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunk_file ON chunk (file);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5 (
    terms, tokenize = "unicode61 remove_diacritics 2 tokenchars '-_.'"
);
"""


TERMS_VERSION = 2  # of `segment`: 2 indexes the parts of compound names; an index made before is re-segmented


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 query for chunks holding any of `terms`; empty when there is none."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def idf(documents_with_term: int, documents: int) -> float:
    """Lucene's smoothed idf: positive, and highest for a term the base does not hold."""
    return math.log(1.0 + (documents - documents_with_term + 0.5) / (documents_with_term + 0.5))


@dataclass
class IndexedChunk:
    id: str
    file: str
    text: str
    metadata: dict[str, Any]


@dataclass
class KeywordMatch:
    chunk: IndexedChunk
    bm25: float  # SQLite's bm25(): negative, lower is better


@dataclass
class KeywordResult:
    """One query's keyword matches, best bm25 first, and the coverage of the query by
    each of them and by each chunk asked about (0..1; chunks holding no term are left out)."""

    matches: list[KeywordMatch] = field(default_factory=list)
    coverage: dict[str, float] = field(default_factory=dict)


class KeywordStore(Protocol):
    """A base's keyword index: a SQLite FTS5 file (`KeywordIndex`, embedded) or rows in
    PostgreSQL (`keyword_index_pg.PostgresKeywordIndex`, shared by replicas)."""

    def add(self, chunks: Sequence[IndexedChunk]) -> None: ...

    def delete_file(self, file_name: str) -> None: ...

    def clear(self) -> None: ...

    def destroy(self) -> None: ...

    def upgrade(self) -> None: ...

    def count(self, file_name: str | None = None) -> int: ...

    def search_many(
        self,
        queries: Sequence[str],
        *,
        limit: int,
        files: Collection[str] | None = None,
        also_cover: Sequence[Collection[str]] | None = None,
    ) -> list[KeywordResult]: ...


def coverage(weights: dict[str, float], terms: str) -> float:
    """The idf-weighted share of the query's terms (`weights`) that `terms` (a chunk's) hold."""
    held = set(terms.split())
    return sum(weight for term, weight in weights.items() if term in held) / sum(weights.values())


class KeywordIndex:
    """One knowledge base's keyword index. Each call opens its own connection,
    so threads may share an instance; writers of one base take turns above."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            with connection:  # one transaction: committed, or rolled back on error
                self._resegment_if_older(connection)
                yield connection

    @staticmethod
    def _resegment_if_older(connection: sqlite3.Connection) -> None:
        """Terms made by an older `segment` are made again from the chunks' text (once)."""
        if connection.execute("PRAGMA user_version").fetchone()[0] >= TERMS_VERSION:
            return
        for rowid, text in connection.execute("SELECT rowid, text FROM chunk").fetchall():
            connection.execute("UPDATE chunk_terms SET terms = ? WHERE rowid = ?", (" ".join(segment(text)), rowid))
        connection.execute(f"PRAGMA user_version = {TERMS_VERSION}")

    def destroy(self) -> None:
        """Remove the index's files (a base of that name starts empty)."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def upgrade(self) -> None:
        """Bring an index made by an older version up to date (searches only read it)."""
        if self.path.exists():
            with self._connect():
                pass

    def add(self, chunks: Sequence[IndexedChunk]) -> None:
        with self._connect() as connection:
            for chunk in chunks:
                cursor = connection.execute(
                    "INSERT INTO chunk (id, file, text, metadata) VALUES (?, ?, ?, ?)",
                    (chunk.id, chunk.file, chunk.text, json.dumps(chunk.metadata, ensure_ascii=False)),
                )
                connection.execute(
                    "INSERT INTO chunk_terms (rowid, terms) VALUES (?, ?)",
                    (cursor.lastrowid, " ".join(segment(chunk.text))),
                )

    def delete_file(self, file_name: str) -> None:
        with self._connect() as connection:
            connection.execute(
                "DELETE FROM chunk_terms WHERE rowid IN (SELECT rowid FROM chunk WHERE file = ?)", (file_name,)
            )
            connection.execute("DELETE FROM chunk WHERE file = ?", (file_name,))

    def clear(self) -> None:
        with self._connect() as connection:
            connection.execute("DELETE FROM chunk_terms")
            connection.execute("DELETE FROM chunk")

    def count(self, file_name: str | None = None) -> int:
        with self._connect() as connection:
            if file_name is None:
                return connection.execute("SELECT count(*) FROM chunk").fetchone()[0]
            return connection.execute("SELECT count(*) FROM chunk WHERE file = ?", (file_name,)).fetchone()[0]

    def search(
        self, query: str, *, limit: int, files: Collection[str] | None = None, also_cover: Collection[str] = ()
    ) -> KeywordResult:
        """The `limit` best chunks (of `files`, when given) holding a term of `query`, best first."""
        return self.search_many([query], limit=limit, files=files, also_cover=[also_cover])[0]

    def search_many(
        self,
        queries: Sequence[str],
        *,
        limit: int,
        files: Collection[str] | None = None,
        also_cover: Sequence[Collection[str]] | None = None,
    ) -> list[KeywordResult]:
        """`search` for each of `queries`, on one connection; `also_cover[i]` names more
        chunks (by id) whose coverage of query i is wanted, e.g. the vector half's."""
        terms_of = [query_terms(query) for query in queries]
        if not any(terms_of) or not self.path.exists():
            return [KeywordResult() for _ in queries]  # no searchable term, or nothing was ever indexed
        allowed = None if files is None else json.dumps(list(files))
        # Read-only, and without the writers' set-up: the schema and WAL mode are already on disk.
        with closing(sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=30)) as connection:
            # Per-term document counts; in the connection's temp schema, which a read-only one may write.
            connection.execute("CREATE VIRTUAL TABLE temp.vocabulary USING fts5vocab(main, chunk_terms, row)")
            documents = connection.execute("SELECT count(*) FROM chunk").fetchone()[0]
            return [
                self._search(connection, terms, limit, allowed, also, documents) if terms else KeywordResult()
                for terms, also in zip(terms_of, also_cover or [()] * len(queries), strict=True)
            ]

    @staticmethod
    def _search(
        connection: sqlite3.Connection,
        terms: list[str],
        limit: int,
        allowed: str | None,
        also: Collection[str],
        documents: int,
    ) -> KeywordResult:
        marks = ", ".join("?" * len(terms))
        counts = dict(connection.execute(f"SELECT term, doc FROM temp.vocabulary WHERE term IN ({marks})", terms))
        weights = {term: idf(counts.get(term, 0), documents) for term in terms}
        result = KeywordResult()
        for id_, file, text, meta, held, rank in connection.execute(
            "SELECT chunk.id, chunk.file, chunk.text, chunk.metadata, chunk_terms.terms, bm25(chunk_terms) AS rank"
            " FROM chunk_terms JOIN chunk ON chunk.rowid = chunk_terms.rowid"
            " WHERE chunk_terms MATCH ? AND (? IS NULL OR chunk.file IN (SELECT value FROM json_each(?)))"
            " ORDER BY rank LIMIT ?",
            (match_expression(terms), allowed, allowed, limit),
        ):
            result.matches.append(KeywordMatch(IndexedChunk(id_, file, text, json.loads(meta)), rank))
            result.coverage[id_] = coverage(weights, held)
        if unseen := [id_ for id_ in also if id_ not in result.coverage]:
            for id_, held in connection.execute(
                "SELECT chunk.id, chunk_terms.terms FROM chunk JOIN chunk_terms ON chunk_terms.rowid = chunk.rowid"
                f" WHERE chunk.id IN ({', '.join('?' * len(unseen))})",
                unseen,
            ):
                if share := coverage(weights, held):
                    result.coverage[id_] = share
        return result
