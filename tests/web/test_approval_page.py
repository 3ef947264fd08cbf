"""A tool call that waits for a person, in the browser: Approve and Deny on its card, also after a reload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.conftest import Rows
from tests.web.pages import choose_kind, finished_answer, open_chat, send
from tests.web.test_agent_page import call

GUARDED = '''
from langchain_core.tools import tool

requires_approval = True


@tool
def delete_file(path: str) -> str:
    """Deletes a file (for tests: only says so)."""
    return f"deleted {path}"
'''


@pytest.fixture
def tools_dir(tools_dir: Path) -> Path:
    """The page's tools, and one that waits for approval: `web_app` and `base_url` serve them."""
    (tools_dir / "guarded.py").write_text(GUARDED)
    return tools_dir


async def test_approve_on_the_card_lets_the_call_run(page, base_url, upstream, web_app):
    upstream.enqueue(call("delete_file", path="/tmp/report.txt"), "The report is gone.")
    await open_chat(page, base_url)
    await choose_kind(page, "agent_chat")
    await send(page, "Delete the report")

    card = page.locator(".tool-card")
    await expect(card.locator(".approval-note")).to_have_text("Waiting for your approval")
    await expect(card).to_have_class(re.compile(r"\bwaiting\b"))
    await card.locator(".approve-btn").click()

    await expect(card).to_have_class(re.compile(r"\bdone\b"), timeout=10_000)
    await expect(card.locator(".tool-output")).to_have_text("deleted /tmp/report.txt")
    await expect(card.locator(".tool-approval")).to_have_count(0)
    answer = await finished_answer(page)
    await expect(answer.locator(".answer")).to_have_text("The report is gone.")
    rows = Rows(web_app)
    (stored,) = rows.tool_calls(rows.saved_answer().id)
    assert stored.approval == "approved"


async def test_a_pending_card_keeps_its_buttons_after_a_reload(page, base_url, upstream):
    upstream.enqueue(call("delete_file", path="/tmp/report.txt"), "I left the report alone.")
    await open_chat(page, base_url)
    await choose_kind(page, "agent_chat")
    await send(page, "Delete the report")
    await expect(page.locator(".tool-card .deny-btn")).to_be_visible()

    await page.reload()

    card = page.locator(".tool-card")
    await expect(card.locator(".deny-btn")).to_be_visible()
    await card.locator(".deny-btn").click()
    await expect(card).to_have_class(re.compile(r"\berror\b"), timeout=10_000)
    await expect(card.locator(".tool-error")).to_contain_text("denied by the user")
    answer = await finished_answer(page)
    await expect(answer.locator(".answer")).to_have_text("I left the report alone.")
