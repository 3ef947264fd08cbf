"""Shared fixtures: an isolated data dir per test, a fake OpenAI-compatible
upstream (in process, or on 127.0.0.1 where the HTTP path matters), the app
in-process, and a real server when the network path matters."""

from __future__ import annotations

import os
import shutil
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from agent_service.api.app import create_app
from agent_service.config import Settings, get_settings
from agent_service.db.engine import Database, create_db_engine, migrate
from agent_service.db.models import Conversation, Message, ToolCall
from tests.asgi import asgi_client
from tests.fake_openai import FakeOpenAI, Reply
from tests.function_upstream import FunctionUpstream, install
from tests.threaded_server import ThreadedServer

REPO = Path(__file__).resolve().parent.parent
UPSTREAM_SWITCH = "TEST_UPSTREAM"  # not AGENT_SERVICE_*: the tests clear those


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No AGENT_SERVICE_* variable of the caller's leaks in; data goes to tmp_path; the embedded
    model is SmolLM2 (fast), except in the tests marked `default_model`, which ask for Qwen themselves."""
    for key in list(os.environ):
        if key.startswith("AGENT_SERVICE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AGENT_SERVICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AGENT_SERVICE_EMBEDDED_MODEL", "smollm2-135m")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def upstream(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """The fake upstream, with an empty script, its default reply and no recorded requests: in
    process (`tests.function_upstream`), or for the tests marked `http_upstream` (those about the
    HTTP path to a model, or with the service in another process), the HTTP server. Set
    TEST_UPSTREAM=http to run every test on the HTTP server."""
    if request.node.get_closest_marker("http_upstream") is None and os.environ.get(UPSTREAM_SWITCH) != "http":
        fake = FunctionUpstream()
        install(monkeypatch, fake)
        return fake
    fake_openai_server: FakeOpenAI = request.getfixturevalue("fake_openai_server")
    fake_openai_server.default = Reply()
    fake_openai_server.responder = None
    fake_openai_server.replies.clear()
    fake_openai_server.requests.clear()
    fake_openai_server.on_request = None
    fake_openai_server.streams_cut = 0
    return fake_openai_server


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database in tmp_path, for tests below the app."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'service.db'}")
    migrate(engine)
    db = Database(engine)
    yield db
    db.dispose()


@pytest.fixture
def make_settings(tmp_path: Path, upstream: FakeOpenAI) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "kb_root": tmp_path / "knowledge_base",
            "prompts_dir": REPO / "prompts",
            "tools_dir": REPO / "tools",
            "embeddings": {"provider": "fake"},  # deterministic; the real MiniLM has its own tests
            "kb_min_similarity": 0.0,  # the fake embeddings have a scale of their own
            "allowed_hosts": ["testserver"],  # the in-process client's host name
            "models": {
                "gpt-test": {
                    "provider": "openai",
                    "base_url": upstream.base_url,
                    "api_key": "sk-test",
                    "model": "fake-model",
                    "max_retries": 0,  # a scripted failure is the answer, not retried
                },
                "scripted": {"provider": "fake", "responses": ["Scripted answer."]},
            },
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> Iterator[FastAPI]:
    application = create_app(make_settings())
    yield application
    application.state.services.close()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as http:
        yield http


@pytest.fixture
def live_server_for() -> Iterator[Callable[[FastAPI], str]]:
    """Serve an app with a real uvicorn on 127.0.0.1 (for disconnects and real clients)."""
    running: list[ThreadedServer] = []

    def serve(application: FastAPI) -> str:
        running.append(ThreadedServer(application, lifespan="on", log_level="warning"))
        return running[-1].start()

    yield serve
    for server in running:
        server.stop(timeout=10)


@pytest.fixture
def live_server(app: FastAPI, live_server_for: Callable[[FastAPI], str]) -> str:
    return live_server_for(app)


class Rows:
    """Read the database the way a person checking rows would."""

    def __init__(self, app: FastAPI) -> None:
        self.db = app.state.services.db

    def conversations(self) -> list[Conversation]:
        with self.db.session() as session:
            return list(session.exec(select(Conversation)).all())

    def messages(self, conversation_id: str | None = None) -> list[Message]:
        query = select(Message).order_by(Message.seq)
        if conversation_id:
            query = query.where(Message.conversation_id == conversation_id)
        with self.db.session() as session:
            return list(session.exec(query).all())

    def saved_answer(self) -> Message | None:
        """The first answer saved final (no longer `streaming`), if there is one yet."""
        return next((m for m in self.messages() if m.role == "assistant" and m.status != "streaming"), None)

    def tool_calls(self, message_id: str) -> list[ToolCall]:
        with self.db.session() as session:
            query = select(ToolCall).where(ToolCall.message_id == message_id).order_by(ToolCall.position)
            return list(session.exec(query).all())


@pytest.fixture
def rows(app: FastAPI) -> Rows:
    return Rows(app)


def tools_folder(tmp_path: Path, test_tools: str) -> Path:
    """A tools folder with the shipped calculator, and `test_tools` (source) as one more module."""
    folder = tmp_path / "tools"
    folder.mkdir()
    shutil.copy(REPO / "tools" / "calculator.py", folder)
    (folder / "test_tools.py").write_text(textwrap.dedent(test_tools))
    return folder


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll until `condition()` is truthy (for writes that follow a disconnect)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
