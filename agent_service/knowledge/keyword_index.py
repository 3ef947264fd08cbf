"""The keyword half of hybrid search: a SQLite FTS5 index per knowledge base,
in `<kb>/keyword_index.db`, updated with its files and never rebuilt per query.

FTS5 cannot split Chinese into words, so text is segmented before it is
indexed or searched: Chinese runs by jieba (search mode when indexing, so
both "知识库" and "知识" match; precise mode for queries), everything else into
lower-cased words that keep inner `-`, `_` and `.` so codes such as `E-7731`,
`gpt-4o` or `v1.2` match whole. No stemming: the vector half already finds
other forms of a word, and stemming mangles the exact names people search
for. A query matches chunks holding any of its terms, ranked by bm25; the
query's function words ("what", "the", "的") are dropped first, because
fusion looks at ranks, not at bm25's low weight for them.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jieba

jieba.setLogLevel(logging.WARNING)

# Han ideographs: the characters that carry no spaces between words.
CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKENS = re.compile(rf"[{CJK_CHARS}]+|[^\W_{CJK_CHARS}]+(?:[-_.][^\W_{CJK_CHARS}]+)*")
_CJK_RUN = re.compile(rf"[{CJK_CHARS}]+")

# Query-side only, so a query made of nothing else still searches them.
STOP_WORDS = frozenset(
    """a about all also an and any are as at be been being both but by can could did do does for from had has
    have he her here him his how i if in into is it its just may me might more most must my no not of on only
    or other our own same she should so some such than that the their them then there these they this those
    to too under very was we were what when where which who whom whose why will with would you your
    的 了 是 在 和 与 及 或 有 我 你 他 她 它 我们 你们 他们 这 那 这个 那个 吗 呢 吧 啊 呀 什么 怎么 怎样 如何 为什么
    哪 哪些 哪个 请 也 就 都 而 被 把 给 对 从 到 中 上 下 一个 一下""".split()
)

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


def segment(text: str, *, for_query: bool = False) -> list[str]:
    """The terms of `text`, in order, as they are indexed (or searched, `for_query`)."""
    terms: list[str] = []
    for token in _TOKENS.findall(text.lower()):
        if _CJK_RUN.match(token):
            words = jieba.lcut(token) if for_query else jieba.lcut_for_search(token)
            terms.extend(word for word in words if word.strip())
        else:
            terms.append(token)
    return terms


def match_expression(query: str) -> str:
    """An FTS5 query for chunks holding any term of `query`; empty when it has none."""
    terms = dict.fromkeys(segment(query, for_query=True))
    terms = {term: None for term in terms if term not in STOP_WORDS} or terms
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


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
                yield connection

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

    def search(self, query: str, *, limit: int, files: Collection[str] | None = None) -> list[KeywordMatch]:
        """The `limit` best chunks (of `files`, when given) holding a term of `query`, best first."""
        return self.search_many([query], limit=limit, files=files)[0]

    def search_many(
        self, queries: Sequence[str], *, limit: int, files: Collection[str] | None = None
    ) -> list[list[KeywordMatch]]:
        """`search` for each of `queries`, on one connection."""
        expressions = [match_expression(query) for query in queries]
        if not any(expressions) or not self.path.exists():
            return [[] for _ in queries]  # no searchable term, or nothing was ever indexed
        allowed = None if files is None else json.dumps(list(files))
        # Read-only, and without the writers' set-up: the schema and WAL mode are already on disk.
        with closing(sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=30)) as connection:
            return [
                [
                    KeywordMatch(IndexedChunk(id_, file, text, json.loads(meta)), rank)
                    for id_, file, text, meta, rank in connection.execute(
                        "SELECT chunk.id, chunk.file, chunk.text, chunk.metadata, bm25(chunk_terms) AS rank"
                        " FROM chunk_terms JOIN chunk ON chunk.rowid = chunk_terms.rowid"
                        " WHERE chunk_terms MATCH ? AND (? IS NULL OR chunk.file IN (SELECT value FROM json_each(?)))"
                        " ORDER BY rank LIMIT ?",
                        (expression, allowed, allowed, limit),
                    )
                ]
                if expression
                else []
                for expression in expressions
            ]
