"""/tools: the tools dir as the extension point."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent_service.agents.tool_registry import DuplicateToolError
from agent_service.api.app import create_app
from tests.asgi import asgi_client
from tests.conftest import REPO

WORD_COUNT = '''
from langchain_core.tools import ToolException, tool


@tool
def word_count(text: str, unique: bool = False) -> str:
    """Count the words in `text`."""
    words = text.split()
    if not words:
        raise ToolException("The text is empty.")
    return f"{len(set(words)) if unique else len(words)} words"
'''


# A module that registers its tool explicitly, built from the context the service gives it.
CONVERSATION_COUNT = '''
from langchain_core.tools import tool
from sqlmodel import func, select

from agent_service.db.models import Conversation


def register(add, context):
    database, folder = context.database, context.settings.tools_dir.name

    @tool
    def conversation_count() -> str:
        """How many conversations the service holds."""
        with database.session() as session:
            return f"{folder}: {session.exec(select(func.count()).select_from(Conversation)).one()}"

    add(conversation_count)


@tool
def not_registered() -> str:
    """Defined, but the module's hook does not add it."""
    return "no"
'''


@pytest.fixture
def tools_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tools"
    shutil.copytree(REPO / "tools", folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest.fixture
async def tools_client(make_settings, tools_dir: Path):
    app = create_app(make_settings(tools_dir=tools_dir))
    async with asgi_client(app) as client:
        yield client
    app.state.services.close()


async def test_lists_the_built_in_tools_with_their_schemas(tools_client):
    body = (await tools_client.get("/tools")).json()

    by_name = {tool["name"]: tool for tool in body["tools"]}
    assert {"calculator", "current_time", "unit_converter", "sql_query"} <= set(by_name)
    calculator = by_name["calculator"]
    assert calculator["module"] == "calculator.py"
    assert calculator["args_schema"]["properties"]["expression"]["type"] == "string"
    assert calculator["description"]
    assert body["errors"] == []


async def test_call_a_tool_with_arguments_or_a_string(tools_client):
    as_object = await tools_client.post("/tools/call", json={"name": "calculator", "tool_input": {"expression": "7*6"}})
    as_string = await tools_client.post("/tools/call", json={"name": "calculator", "tool_input": "sqrt(81)"})
    converted = await tools_client.post(
        "/tools/call", json={"name": "unit_converter", "tool_input": {"value": 1, "from_unit": "km", "to_unit": "m"}}
    )

    assert as_object.json() == {"name": "calculator", "output": "42"}
    assert as_string.json()["output"] == "9"
    assert converted.status_code == 200 and "1000" in converted.json()["output"]


async def test_call_errors_are_clear(tools_client):
    unknown = await tools_client.post("/tools/call", json={"name": "teleport", "tool_input": {}})
    refused = await tools_client.post("/tools/call", json={"name": "calculator", "tool_input": "__import__('os')"})
    invalid = await tools_client.post("/tools/call", json={"name": "unit_converter", "tool_input": {"value": "x"}})

    assert unknown.status_code == 404 and "unknown tool 'teleport'" in unknown.json()["msg"]
    assert refused.status_code == 400 and refused.json()["msg"].startswith("calculator: ")
    assert invalid.status_code == 422 and "invalid tool_input for unit_converter" in invalid.json()["msg"]


async def test_a_dropped_in_file_is_a_tool_after_reload(tools_client, tools_dir: Path):
    (tools_dir / "word_count.py").write_text(WORD_COUNT)

    reloaded = (await tools_client.post("/tools/reload")).json()
    called = await tools_client.post("/tools/call", json={"name": "word_count", "tool_input": {"text": "a b a"}})

    assert "word_count" in [tool["name"] for tool in reloaded["tools"]]
    assert called.json()["output"] == "3 words"


async def test_a_module_registers_its_tools_with_the_services_settings_and_database(tools_client, tools_dir: Path):
    (tools_dir / "conversation_count.py").write_text(CONVERSATION_COUNT)
    await tools_client.post("/conversations", json={"title": "first"})

    reloaded = (await tools_client.post("/tools/reload")).json()
    called = await tools_client.post("/tools/call", json={"name": "conversation_count", "tool_input": {}})

    names = [tool["name"] for tool in reloaded["tools"]]
    assert "conversation_count" in names and "not_registered" not in names
    assert called.json()["output"] == "tools: 1"


async def test_a_broken_module_is_reported_and_the_rest_load(tools_client, tools_dir: Path):
    (tools_dir / "broken.py").write_text("import not_a_real_package\n")

    body = (await tools_client.post("/tools/reload")).json()

    assert body["errors"] == [
        {"module": "broken.py", "source": "module", "error": body["errors"][0]["error"]},
    ]
    assert "ModuleNotFoundError" in body["errors"][0]["error"] and "not_a_real_package" in body["errors"][0]["error"]
    assert "calculator" in [tool["name"] for tool in body["tools"]]


async def test_two_tools_with_one_name(make_settings, tools_dir: Path, tools_client):
    (tools_dir / "calculator_copy.py").write_text((tools_dir / "calculator.py").read_text())

    with pytest.raises(DuplicateToolError, match="two tools are named 'calculator'"):
        create_app(make_settings(tools_dir=tools_dir))
    refused = await tools_client.post("/tools/reload")

    assert refused.status_code == 409 and "rename one" in refused.json()["msg"]
    assert (await tools_client.post("/tools/call", json={"name": "calculator", "tool_input": "1+1"})).status_code == 200


async def test_a_tool_that_requires_approval_is_not_run_directly(make_settings, tools_dir: Path):
    app = create_app(make_settings(tools_dir=tools_dir, tools_requiring_approval=["calculator"]))
    async with asgi_client(app) as client:
        refused = await client.post("/tools/call", json={"name": "calculator", "tool_input": {"expression": "7*6"}})
        other = await client.post(
            "/tools/call",
            json={"name": "unit_converter", "tool_input": {"value": 1, "from_unit": "km", "to_unit": "m"}},
        )
    app.state.services.close()

    assert refused.status_code == 403
    assert "calculator requires a person's approval" in refused.json()["msg"]
    assert other.status_code == 200


async def test_sql_query_requires_approval_by_default(tools_client):
    by_name = {tool["name"]: tool for tool in (await tools_client.get("/tools")).json()["tools"]}

    assert by_name["sql_query"]["requires_approval"] is True
    assert by_name["calculator"]["requires_approval"] is False
