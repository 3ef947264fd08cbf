"""sql_query: read-only queries on a temporary SQLite database."""

import sqlite3
import time
from pathlib import Path
from types import ModuleType

import pytest
from langchain_core.tools import BaseTool, ToolException

from agent_service.config import Settings, get_settings
from tests.tools.conftest import TOOLS_DIR


@pytest.fixture
def module(load_tool_module) -> ModuleType:
    return load_tool_module("sql_query")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL, note TEXT);
            INSERT INTO customers (name, city) VALUES ('Ada', 'London'), ('Grace', NULL), ('Linus', 'Helsinki');
            INSERT INTO orders (customer_id, total, note)
                VALUES (1, 9.5, 'gift; wrap it'), (1, 20, NULL), (3, 7.25, 'update');
            """
        )
    connection.close()
    return path


@pytest.fixture
def sql_tool(module: ModuleType, database: Path) -> BaseTool:
    return module.SQLQueryTool(url=f"sqlite:///{database}", max_rows=50)


def _count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_description_shows_the_schema(sql_tool: BaseTool) -> None:
    assert sql_tool.name == "sql_query"
    assert list(sql_tool.args) == ["query"]
    assert "sqlite" in sql_tool.description
    assert "customers(id INTEGER, name TEXT, city TEXT)" in sql_tool.description
    assert "orders(id INTEGER, customer_id INTEGER, total REAL, note TEXT)" in sql_tool.description
    assert "at most 50 rows" in sql_tool.description


def test_select_returns_a_text_table(sql_tool: BaseTool) -> None:
    output = sql_tool.invoke({"query": "SELECT id, name, city FROM customers ORDER BY id"})
    assert output == "id | name | city\n1 | Ada | London\n2 | Grace | NULL\n3 | Linus | Helsinki\n(3 rows)"


def test_with_join_literals_and_trailing_semicolon(sql_tool: BaseTool) -> None:
    query = """
        WITH spend AS (SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id)
        SELECT c.name, s.total FROM customers c JOIN spend s ON s.customer_id = c.id
        WHERE c.name <> 'it''s; DROP TABLE customers' ORDER BY s.total DESC;  -- biggest first
    """
    assert sql_tool.invoke(query) == "name | total\nAda | 29.5\nLinus | 7.25\n(2 rows)"


def test_keywords_inside_string_literals_are_fine(sql_tool: BaseTool) -> None:
    output = sql_tool.invoke("SELECT note FROM orders WHERE note = 'update' OR note LIKE '%;%' ORDER BY id")
    assert output == "note\ngift; wrap it\nupdate\n(2 rows)"


def test_no_rows(sql_tool: BaseTool) -> None:
    assert sql_tool.invoke("SELECT name FROM customers WHERE id > 100") == "name\n(0 rows)"


def test_row_limit_truncates_and_says_so(module: ModuleType, database: Path) -> None:
    tool = module.SQLQueryTool(url=f"sqlite:///{database}", max_rows=2)
    output = tool.invoke("SELECT name FROM customers ORDER BY id")
    assert output.splitlines() == [
        "name",
        "Ada",
        "Grace",
        "(first 2 rows shown; there are more: add WHERE, LIMIT or aggregate)",
    ]
    assert tool.invoke("SELECT name FROM customers ORDER BY id LIMIT 2").endswith("(2 rows)")


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM customers",
        "UPDATE customers SET name = 'x'",
        "INSERT INTO customers (name) VALUES ('Eve')",
        "DROP TABLE customers",
        "ALTER TABLE customers ADD COLUMN age INTEGER",
        "CREATE TABLE evil (x)",
        "ATTACH DATABASE 'other.db' AS other",
        "PRAGMA journal_mode = DELETE",
        "REPLACE INTO customers (id, name) VALUES (1, 'Eve')",
        "WITH gone AS (SELECT 1) DELETE FROM customers",
        "SELECT * INTO backup FROM customers",
        "",
    ],
)
def test_writes_are_refused_and_the_database_is_unchanged(sql_tool: BaseTool, database: Path, query: str) -> None:
    with pytest.raises(ToolException, match="Only read-only queries are allowed"):
        sql_tool.invoke(query)
    assert _count(database, "customers") == 3
    assert _count(database, "orders") == 3


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1; DROP TABLE customers",
        "SELECT 1; SELECT 2",
        "SELECT 'a'; DELETE FROM customers; --'",
        r"SELECT 'x\''; DELETE FROM customers; -- '",  # a backslash-escape trick
    ],
)
def test_multiple_statements_are_refused(sql_tool: BaseTool, database: Path, query: str) -> None:
    with pytest.raises(ToolException, match="Only one SQL statement per call"):
        sql_tool.invoke(query)
    assert _count(database, "customers") == 3


def test_the_connection_itself_is_read_only(module: ModuleType, database: Path) -> None:
    """Defence in depth: a write that got past the text check would still fail."""
    engine = module._create_read_only_engine(f"sqlite:///{database}")
    with engine.connect() as connection, pytest.raises(Exception, match="readonly database"):
        connection.exec_driver_sql("DELETE FROM customers")
    engine.dispose()
    assert _count(database, "customers") == 3


def test_database_errors_become_short_tool_errors(sql_tool: BaseTool) -> None:
    with pytest.raises(ToolException, match="^SQL error: no such table: nope$"):
        sql_tool.invoke("SELECT * FROM nope")


def test_a_runaway_query_is_stopped(module: ModuleType, database: Path) -> None:
    tool = module.SQLQueryTool(url=f"sqlite:///{database}", timeout=0.2)
    endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    with pytest.raises(ToolException, match="ran longer than 0.2 s"):
        tool.invoke(endless)
    assert tool.invoke("SELECT count(*) AS n FROM customers") == "n\n3\n(1 row)"


def test_a_missing_database_file_is_not_created(module: ModuleType, tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    tool = module.SQLQueryTool(url=f"sqlite:///{missing}")
    assert "cannot use its database" in tool.description
    with pytest.raises(ToolException, match="unable to open database file"):
        tool.invoke("SELECT 1")
    assert not missing.exists()


def test_an_unusable_url_is_reported_not_raised_at_start_up(module: ModuleType) -> None:
    tool = module.SQLQueryTool(url="nosuchdb://somewhere/x")
    assert "cannot use its database" in tool.description
    with pytest.raises(ToolException, match="cannot use its database"):
        tool.invoke("SELECT 1")


def test_reads_url_and_row_limit_from_settings(module: ModuleType, database: Path) -> None:
    settings = Settings(sql_tool_url=f"sqlite:///{database}", sql_tool_max_rows=1)
    tool = module.SQLQueryTool(settings=settings)
    assert tool.max_rows == 1
    assert tool.invoke("SELECT name FROM customers ORDER BY id").splitlines()[:2] == ["name", "Ada"]


def test_the_registry_builds_it_from_the_settings_in_its_context(database: Path) -> None:
    from agent_service.agents.tool_modules import ToolContext
    from agent_service.agents.tool_registry import ToolRegistry

    settings = Settings(sql_tool_url=f"sqlite:///{database}", sql_tool_max_rows=7)
    tool = ToolRegistry.load(TOOLS_DIR, ToolContext(settings=settings)).get("sql_query")

    assert "at most 7 rows" in tool.description
    assert "customers(" in tool.description


def test_not_configured_says_how_to_configure(module: ModuleType, database: Path, monkeypatch) -> None:
    """With no settings given, the tool is not configured: it never reads the environment itself."""
    monkeypatch.setenv("AGENT_SERVICE_SQL_TOOL_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    try:
        tool = module.SQLQueryTool()
    finally:
        get_settings.cache_clear()
    assert "not configured" in tool.description
    assert tool.invoke("SELECT 1") == "sql_query is not configured: set AGENT_SERVICE_SQL_TOOL_URL"


def test_the_url_stays_out_of_repr_and_dumps(module: ModuleType) -> None:
    tool = module.SQLQueryTool(url="sqlite:////nonexistent/dir/db.sqlite?password=hunter2")
    assert "hunter2" not in repr(tool)
    assert "hunter2" not in str(tool.model_dump())


@pytest.mark.parametrize(
    "query",
    [
        "SELECT length(zeroblob(1000000000) || zeroblob(0))",
        "SELECT length(replace(hex(zeroblob(600000)), '0', '00'))",
    ],
)
def test_a_gigantic_value_is_an_error_not_a_gigabyte(sql_tool: BaseTool, query: str) -> None:
    with pytest.raises(ToolException, match="too big"):
        sql_tool.invoke(query)


def test_printf_past_the_limit_gives_null_not_a_gigabyte(sql_tool: BaseTool) -> None:
    assert "NULL" in sql_tool.invoke("SELECT printf('%.*c', 1000000000, 'x') AS s")


def test_values_up_to_the_limit_still_work(sql_tool: BaseTool) -> None:
    assert "100000" in sql_tool.invoke("SELECT length(zeroblob(100000)) AS n")


def test_the_service_calls_it_in_a_tool_worker_process(database: Path) -> None:
    """A query that runs away is stopped at its timeout in the worker and costs the service's own process nothing.
    The worker builds its copy of the tool with the service's settings, which are not in its environment."""
    from agent_service.agents.tool_modules import ToolContext
    from agent_service.agents.tool_registry import ToolRegistry

    context = ToolContext(settings=Settings(sql_tool_url=f"sqlite:///{database}"))
    tool = ToolRegistry.load(TOOLS_DIR, context, isolated_timeout=2).get("sql_query")
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"

    assert tool.invoke("SELECT name FROM customers ORDER BY id").splitlines()[:2] == ["name", "Ada"]
    spent = time.process_time()
    with pytest.raises(ToolException, match="stopped"):
        tool.invoke(endless)
    assert time.process_time() - spent < 0.5  # the two seconds of CPU were the worker's
    with pytest.raises(ToolException, match="too big"):
        tool.invoke("SELECT length(zeroblob(1000000000) || zeroblob(0))")
    assert tool.invoke("SELECT count(*) AS n FROM orders").splitlines()[:2] == ["n", "3"]  # a new worker
