"""sql_query: read-only SQL over a database the operator configures.

Settings: `sql_tool_url` (AGENT_SERVICE_SQL_TOOL_URL, any SQLAlchemy URL) and
`sql_tool_max_rows` (AGENT_SERVICE_SQL_TOOL_MAX_ROWS, default 50).

Several layers keep queries read-only, because a model's SQL is untrusted:
1. the text must be one SELECT/WITH/VALUES/EXPLAIN statement with no
   data-changing keyword outside string literals;
2. SQLite files are opened with `mode=ro` and every SQLite connection runs
   with `PRAGMA query_only`;
3. every query runs in a transaction that is always rolled back, marked
   READ ONLY on PostgreSQL and MySQL.
For real safety, also point the URL at a database user that can only read.
"""

import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, Field, PrivateAttr
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from agent_service.agents.tool_modules import ToolContext
from agent_service.config import Settings

_MAX_VALUE_BYTES = 1_000_000
# Each query waits for a person's approval: the model writes the SQL, and what it reads of
# the operator's database goes into its answer.
requires_approval = True
# Run in a tool worker process (agent_service.agents.isolated): a query that runs away costs its caller only.
isolated = True
NOT_CONFIGURED = "sql_query is not configured: set AGENT_SERVICE_SQL_TOOL_URL"

_MAX_SCHEMA_CHARS = 3000
_MAX_CELL_CHARS = 100
_MAX_OUTPUT_CHARS = 8000

_READ_STATEMENTS = {"SELECT", "WITH", "VALUES", "EXPLAIN"}
# Words that change data or state. A query may still start with SELECT or
# WITH and hide one (SELECT ... INTO, WITH x AS (DELETE ... RETURNING *)).
_WRITE_WORDS = {
    "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "INTO", "DROP", "ALTER", "CREATE",
    "TRUNCATE", "RENAME", "ATTACH", "DETACH", "PRAGMA", "VACUUM", "REINDEX", "GRANT",
    "REVOKE", "COPY", "CALL", "EXEC", "EXECUTE", "LOCK", "LOAD_EXTENSION",
}  # fmt: skip
# String literals, quoted identifiers and comments, in two readings: SQL
# standard ('it''s') and MySQL-style backslash escapes ('it\'s'). A query
# must pass under both, so a quote trick that fools one reading is caught.
_NON_CODE_PATTERNS = [
    re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/""", re.S),
    re.compile(r"""'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`[^`]*`|--[^\n]*|/\*.*?\*/""", re.S),
]


def _blank(match: re.Match[str]) -> str:
    # Same length, so positions still match the original text; comments become
    # blanks (a trailing one is cut off), literals a neutral non-blank filler.
    text = match.group()
    return " " * len(text) if text.startswith(("--", "/*")) else "0" * len(text)


def _check_read_only(sql: str) -> str:
    """The statement to run, without trailing semicolons; raises for anything but one read."""
    end = len(sql)
    for pattern in _NON_CODE_PATTERNS:
        code = pattern.sub(_blank, sql)
        body = re.sub(r"[\s;]+$", "", code)
        end = min(end, len(body))
        if ";" in body:
            raise ToolException("Only one SQL statement per call is allowed.")
        words = [word.upper() for word in re.findall(r"[A-Za-z_]+", body)]
        if not words or words[0] not in _READ_STATEMENTS:
            raise ToolException("Only read-only queries are allowed: SELECT, WITH ... SELECT, VALUES, EXPLAIN.")
        if forbidden := next((word for word in words if word in _WRITE_WORDS), None):
            raise ToolException(f"Only read-only queries are allowed ({forbidden} is not).")
    return sql[:end]


def _read_only_sqlite_url(url: URL) -> URL:
    database = url.database or ""
    if database in ("", ":memory:"):
        return url  # nothing on disk to protect; query_only still applies
    if url.query.get("uri", "").lower() in ("true", "1"):
        return url.update_query_dict({"mode": "ro"})
    path = quote(str(Path(database).resolve()))
    return url.set(database=f"file:{path}").update_query_dict({"mode": "ro", "uri": "true"})


def _enable_query_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()
    # One value may not grow past _MAX_VALUE_BYTES: zeroblob(1e9) or printf('%.*c', 1e9, 'x') is
    # then an error at once, not a gigabyte in this process (the timeout cannot stop one allocation).
    dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _MAX_VALUE_BYTES)


def _create_read_only_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed)
    engine = create_engine(_read_only_sqlite_url(parsed))
    event.listen(engine, "connect", _enable_query_only)
    return engine


def _describe_schema(engine: Engine) -> str:
    inspector = inspect(engine)
    lines: list[str] = []
    for table in [*inspector.get_table_names(), *inspector.get_view_names()]:
        columns = inspector.get_columns(table)
        described = ", ".join(f"{column['name']} {_type_name(column['type'])}" for column in columns)
        lines.append(f"{table}({described})")
    schema = ""
    for line in lines:
        if len(schema) + len(line) > _MAX_SCHEMA_CHARS:
            return schema + "... (more tables not shown)"
        schema += line + "\n"
    return schema.rstrip() or "(no tables)"


def _type_name(column_type: Any) -> str:
    try:
        return str(column_type)
    except SQLAlchemyError:  # some dialect-specific types cannot be rendered generically
        return type(column_type).__name__


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    text = " ".join(str(value).split())
    return text if len(text) <= _MAX_CELL_CHARS else text[: _MAX_CELL_CHARS - 1] + "…"


def _format_table(columns: list[str], rows: list[Any], max_rows: int) -> str:
    lines = [" | ".join(columns)]
    shown = 0
    for row in rows[:max_rows]:
        line = " | ".join(_cell(value) for value in row)
        if sum(len(text) + 1 for text in lines) + len(line) > _MAX_OUTPUT_CHARS:
            break
        lines.append(line)
        shown += 1
    if shown < len(rows):
        lines.append(f"(first {shown} rows shown; there are more: add WHERE, LIMIT or aggregate)")
    else:
        lines.append(f"({shown} row{'' if shown == 1 else 's'})")
    return "\n".join(lines)


def _short(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:300]


def register(add: Callable[[BaseTool], None], context: ToolContext) -> None:
    """The service's tool, configured by its settings."""
    add(SQLQueryTool(settings=context.settings))


class _SQLQueryInput(BaseModel):
    query: str = Field(description="One read-only SQL statement, e.g. SELECT name FROM users LIMIT 10")


class SQLQueryTool(BaseTool):
    """Read-only SQL over the database named by the `sql_tool_url` setting."""

    name: str = "sql_query"
    description: str = f"Run a read-only SQL query. Not available: {NOT_CONFIGURED}."
    args_schema: type[BaseModel] = _SQLQueryInput
    # Kept out of repr and serialisation: the URL may hold a password.
    url: str | None = Field(default=None, repr=False, exclude=True)
    max_rows: int = 50
    timeout: float = 30.0  # seconds per query

    _engine: Engine | None = PrivateAttr(default=None)
    _setup_error: str | None = PrivateAttr(default=None)

    def __init__(
        self,
        *,
        url: str | None = None,
        max_rows: int | None = None,
        timeout: float | None = None,
        settings: Settings | None = None,
        **kwargs: Any,
    ) -> None:
        if settings is not None:
            url = url or settings.sql_tool_url
            max_rows = settings.sql_tool_max_rows if max_rows is None else max_rows
            timeout = settings.tool_timeout if timeout is None else timeout
        super().__init__(url=url, max_rows=max_rows or 50, timeout=timeout or 30.0, **kwargs)
        if self.url:
            self._connect()
        else:  # offered to no agent, and shown as such (agent_service.agents.tool_registry)
            self.metadata = {**(self.metadata or {}), "unavailable": NOT_CONFIGURED}

    def _connect(self) -> None:
        # A bad URL or an unreachable database must not break start-up. The
        # engine is kept when only the schema read failed: the database may come up later.
        try:
            self._engine = _create_read_only_engine(self.url or "")
            schema = _describe_schema(self._engine)
        except Exception as error:
            self._setup_error = f"sql_query cannot use its database: {_short(error)}"
            self.description = f"Run a read-only SQL query. Currently failing: {self._setup_error}"
            return
        dialect = self._engine.dialect.name
        self.description = (
            f"Run one read-only SQL query (SELECT or WITH ... SELECT) on the {dialect} database and "
            f"get the rows as a text table (at most {self.max_rows} rows). Input: a single statement "
            f"in {dialect} SQL. Tables:\n{schema}"
        )

    def _run(self, query: str, run_manager: Any = None) -> str:
        if not self.url:
            return NOT_CONFIGURED
        if self._engine is None:  # the URL itself was unusable
            raise ToolException(self._setup_error or NOT_CONFIGURED)
        statement = _check_read_only(query)
        try:
            columns, rows = self._fetch(self._engine, statement)
        except DBAPIError as error:
            message = _short(error.orig)
            if message == "interrupted":  # SQLite, stopped by the progress handler below
                message = f"the query ran longer than {self.timeout:g} s and was stopped"
            raise ToolException(f"SQL error: {message}") from None
        except SQLAlchemyError as error:
            raise ToolException(f"SQL error: {_short(error)}") from None
        if columns is None:
            return "The statement returned no rows."
        return _format_table(columns, rows, self.max_rows)

    def _fetch(self, engine: Engine, statement: str) -> tuple[list[str] | None, list[Any]]:
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                self._guard(connection)
                result = connection.exec_driver_sql(statement, execution_options={"no_parameters": True})
                if not result.returns_rows:
                    return None, []
                columns = list(result.keys())
                rows = list(result.fetchmany(self.max_rows + 1))  # one extra tells us there are more
                result.close()
                return columns, rows
            finally:
                transaction.rollback()
                if connection.dialect.name == "sqlite":
                    connection.connection.dbapi_connection.set_progress_handler(None, 0)  # type: ignore[union-attr]

    def _guard(self, connection: Connection) -> None:
        """Make this transaction read-only and time-limited where the database supports it."""
        dialect = connection.dialect.name
        if dialect == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(self.timeout * 1000)}")
        elif dialect in ("mysql", "mariadb"):
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif dialect == "sqlite":
            deadline = time.monotonic() + self.timeout
            connection.connection.dbapi_connection.set_progress_handler(  # type: ignore[union-attr]
                lambda: time.monotonic() > deadline, 10_000
            )
