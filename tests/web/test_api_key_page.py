"""With API keys on, the page asks for a key once and keeps it in local storage."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from agent_service.api.app import create_app
from tests.web.pages import finished_answer, send


@pytest.fixture
def keyed_url(make_settings, live_server_for):
    app = create_app(make_settings(api_keys=["secret-key"]))
    yield live_server_for(app)
    app.state.services.close()


async def test_the_page_asks_for_a_key_once_and_keeps_it(page, keyed_url, upstream):
    upstream.enqueue("Authorised answer.")
    await page.goto(keyed_url + "/")

    dialog = page.locator("dialog.modal")
    await expect(dialog).to_contain_text("API key needed")
    await dialog.locator("input[name=key]").fill("wrong-key")
    await dialog.locator("button", has_text="Save key").click()
    await expect(page.locator("dialog.modal")).to_contain_text("API key needed")  # asked again: the key was wrong
    await page.locator("dialog.modal input[name=key]").fill("secret-key")
    await page.locator("dialog.modal button", has_text="Save key").click()

    await expect(page.locator("dialog.modal")).to_have_count(0)
    await expect(page.locator(".model-select")).to_have_value("gpt-test")
    await send(page, "Hello with a key")
    await expect((await finished_answer(page)).locator(".answer")).to_have_text("Authorised answer.")
    assert await page.evaluate("localStorage.getItem('agent-service.api-key')") == '"secret-key"'

    await page.reload()
    await expect(page.locator(".conv-title")).to_have_text(["Hello with a key"])
    await expect(page.locator("dialog.modal")).to_have_count(0)
