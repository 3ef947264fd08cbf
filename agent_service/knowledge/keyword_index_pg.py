"""The keyword index in PostgreSQL, for replicas that share one database.

The same interface and the same numbers as the embedded index
(`keyword_index.KeywordIndex`): terms come from the same segmentation
(`tokenize`), chunks holding any query term are ranked by the bm25 that
SQLite's FTS5 computes (k1 1.2, b 0.75, its idf), and `coverage` is the same
idf-weighted share of the query. Each chunk is a `keyword_chunk` row whose
terms are a JSONB array under a GIN index.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence

from sqlalchemy import Connection, Engine, delete, func, insert, select, text

from agent_service.knowledge.keyword_index import IndexedChunk, KeywordMatch, KeywordResult, coverage, idf
from agent_service.knowledge.models import KeywordChunk
from agent_service.knowledge.tokenize import query_terms, segment

K1, B = 1.2, 0.75  # FTS5's bm25 parameters

_chunks = KeywordChunk.__table__
_DOCUMENT_COUNTS = text(
    "SELECT term, (SELECT count(*) FROM keyword_chunk WHERE kb = :kb AND terms ? term)"
    " FROM unnest(CAST(:terms AS text[])) AS term"
)
_MATCHES = text(
    "SELECT chunk_id, file, text, metadata, terms, length FROM keyword_chunk"
    " WHERE kb = :kb AND terms ?| CAST(:terms AS text[]) AND (CAST(:files AS text[]) IS NULL OR file = ANY(:files))"
)
_TERMS_OF = text("SELECT chunk_id, terms FROM keyword_chunk WHERE kb = :kb AND chunk_id = ANY(:ids)")


def fts5_bm25(
    frequencies: Counter[str], length: int, terms: Sequence[str], counts: dict[str, int], size: tuple[int, float]
) -> float:
    """FTS5's bm25() of a chunk for `terms`: negative, lower is better."""
    documents, average_length = size
    score = 0.0
    for term in terms:
        if not (frequency := frequencies.get(term, 0)):
            continue
        held_by = counts.get(term, 0)
        weight = math.log((documents - held_by + 0.5) / (held_by + 0.5))
        weight = weight if weight > 0 else 1e-6
        score += weight * frequency * (K1 + 1) / (frequency + K1 * (1 - B + B * length / (average_length or 1)))
    return -score


class PostgresKeywordIndex:
    """One knowledge base's keyword index, as rows of `keyword_chunk`."""

    def __init__(self, engine: Engine, kb: str) -> None:
        self.engine = engine
        self.kb = kb

    def upgrade(self) -> None:
        pass  # its terms are made by this version: nothing older to re-segment

    def destroy(self) -> None:
        self.clear()

    def add(self, chunks: Sequence[IndexedChunk]) -> None:
        if not chunks:
            return
        rows = []
        for chunk in chunks:
            terms = segment(chunk.text)
            row = {"kb": self.kb, "chunk_id": chunk.id, "file": chunk.file, "text": chunk.text, "terms": terms}
            rows.append(row | {"metadata": chunk.metadata, "length": len(terms)})
        with self.engine.begin() as connection:
            connection.execute(insert(_chunks), rows)

    def delete_file(self, file_name: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(_chunks).where(_chunks.c.kb == self.kb, _chunks.c.file == file_name))

    def clear(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(_chunks).where(_chunks.c.kb == self.kb))

    def count(self, file_name: str | None = None) -> int:
        query = select(func.count()).select_from(_chunks).where(_chunks.c.kb == self.kb)
        if file_name is not None:
            query = query.where(_chunks.c.file == file_name)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one()

    def search(
        self, query: str, *, limit: int, files: Collection[str] | None = None, also_cover: Collection[str] = ()
    ) -> KeywordResult:
        return self.search_many([query], limit=limit, files=files, also_cover=[also_cover])[0]

    def search_many(
        self,
        queries: Sequence[str],
        *,
        limit: int,
        files: Collection[str] | None = None,
        also_cover: Sequence[Collection[str]] | None = None,
    ) -> list[KeywordResult]:
        terms_of = [query_terms(query) for query in queries]
        if not any(terms_of):
            return [KeywordResult() for _ in queries]
        allowed = None if files is None else list(files)
        with self.engine.connect() as connection:
            documents, average = connection.execute(
                select(func.count(), func.coalesce(func.avg(_chunks.c.length), 0)).where(_chunks.c.kb == self.kb)
            ).one()
            size = (documents, float(average))
            return [
                self._search(connection, terms, limit, allowed, also, size) if terms else KeywordResult()
                for terms, also in zip(terms_of, also_cover or [()] * len(queries), strict=True)
            ]

    def _search(
        self,
        connection: Connection,
        terms: list[str],
        limit: int,
        allowed: list[str] | None,
        also: Collection[str],
        size: tuple[int, float],
    ) -> KeywordResult:
        counts = dict(connection.execute(_DOCUMENT_COUNTS, {"kb": self.kb, "terms": terms}).all())
        weights = {term: idf(counts.get(term, 0), size[0]) for term in terms}
        ranked = []
        for chunk_id, file, text_, meta, held, length in connection.execute(
            _MATCHES, {"kb": self.kb, "terms": terms, "files": allowed}
        ):
            rank = fts5_bm25(Counter(held), length, terms, counts, size)
            ranked.append((rank, IndexedChunk(chunk_id, file, text_, meta), held))
        ranked.sort(key=lambda item: item[0])
        result = KeywordResult()
        for rank, chunk, held in ranked[:limit]:
            result.matches.append(KeywordMatch(chunk, rank))
            result.coverage[chunk.id] = coverage(weights, " ".join(held))
        if unseen := [id_ for id_ in also if id_ not in result.coverage]:
            for chunk_id, held in connection.execute(_TERMS_OF, {"kb": self.kb, "ids": unseen}):
                if share := coverage(weights, " ".join(held)):
                    result.coverage[chunk_id] = share
        return result
