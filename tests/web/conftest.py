"""Browser fixtures: Debian's Chromium driven by playwright (async API, on the
session's event loop), against the app under a real uvicorn on 127.0.0.1 with
the fake OpenAI-compatible upstream. Requests to any other host are aborted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from playwright.async_api import async_playwright

from agent_service.api.app import create_app
from agent_service.config import Settings
from tests.conftest import REPO, tools_folder
from tests.web.chromium import CHROMIUM, CHROMIUM_ARGS

VENDOR = REPO / "agent_service" / "web" / "static" / "vendor"


# A slow tool shows its card running before it fills in; a long report is collapsed.
SLOW_TOOL = r'''
import asyncio

from langchain_core.tools import tool


@tool
async def slow_lookup(topic: str) -> str:
    """Looks a topic up, slowly (for tests)."""
    await asyncio.sleep(1.0)
    return f"notes about {topic}"


@tool
def report(lines: int) -> str:
    """Writes a report `lines` lines long (for tests)."""
    return "\n".join(f"line {n}" for n in range(1, lines + 1))


@tool
def broken(reason: str) -> str:
    """Always fails (for tests)."""
    raise RuntimeError(f"kaboom: {reason}")
'''


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    if not (VENDOR / "marked.esm.js").exists():
        pytest.skip("the page's libraries are missing: run `make vendor`")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
def tools_dir(tmp_path: Path) -> Path:
    return tools_folder(tmp_path, SLOW_TOOL)


@pytest.fixture
def web_app(make_settings: Callable[..., Settings], tools_dir: Path) -> AsyncIterator[FastAPI]:
    app = create_app(make_settings(tools_dir=tools_dir))
    yield app
    app.state.services.close()


@pytest.fixture
def base_url(web_app: FastAPI, live_server_for: Callable[[FastAPI], str]) -> str:
    return live_server_for(web_app)


class PageWatch:
    """What the page did that a person would notice: dialogs, script errors."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.offsite: list[str] = []


@pytest.fixture
async def watch() -> PageWatch:
    return PageWatch()


async def open_context(browser: Any, watch: PageWatch, **options: Any) -> Any:
    context = await browser.new_context(**options)

    async def loopback_only(route: Any) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            watch.offsite.append(route.request.url)
            await route.abort()

    await context.route("**/*", loopback_only)
    return context


@pytest.fixture
async def page(browser: Any, watch: PageWatch) -> AsyncIterator[Any]:
    context = await open_context(browser, watch, viewport={"width": 1280, "height": 860})
    tab = await context.new_page()

    async def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        await dialog.dismiss()

    tab.on("dialog", on_dialog)
    tab.on("pageerror", lambda error: watch.errors.append(str(error)))
    yield tab
    await context.close()
    assert watch.errors == [], f"script errors on the page: {watch.errors}"
    assert watch.offsite == [], f"the page tried to leave 127.0.0.1: {watch.offsite}"
