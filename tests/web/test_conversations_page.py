"""The sidebar: conversations newest first, search by title, rename, delete."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from tests.web.pages import finished_answer, open_chat

TITLES = ["Trip to Paris", "Grocery list", "Paris museums"]


async def start_conversations(base_url: str, upstream) -> list[str]:
    """Three conversations through the API, the last one newest."""
    ids = []
    async with httpx.AsyncClient(base_url=base_url) as client:
        for title in TITLES:
            upstream.enqueue(f"About {title}.")
            response = await client.post("/chat/chat", json={"query": title, "stream": False})
            ids.append(response.json()["conversation_id"])
    return ids


async def api_titles(base_url: str) -> list[str]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        return [c["title"] for c in (await client.get("/conversations")).json()["items"]]


async def test_selecting_a_conversation_loads_its_messages(page, base_url, upstream):
    await start_conversations(base_url, upstream)
    await open_chat(page, base_url)

    await expect(page.locator(".conv-title")).to_have_text(list(reversed(TITLES)))
    await page.locator(".conv-link", has_text="Grocery list").click()

    await expect(page.locator(".msg.user .bubble")).to_have_text(["Grocery list"])
    await expect((await finished_answer(page)).locator(".answer")).to_have_text("About Grocery list.")
    await expect(page.locator(".conv[aria-current=page] .conv-title")).to_have_text("Grocery list")
    await expect(page.locator(".topbar-title").first).to_have_text("Grocery list")


async def test_rename_a_conversation(page, base_url, upstream):
    ids = await start_conversations(base_url, upstream)
    await open_chat(page, base_url, f"/#/c/{ids[1]}")
    await expect(page.locator(".topbar-title").first).to_have_text("Grocery list")

    row = page.locator(".conv", has_text="Grocery list")
    await row.hover()
    await row.locator(".conv-rename").click()
    await page.locator(".conv-edit").fill("Weekend shopping")
    await page.locator(".conv-edit").press("Enter")

    await expect(page.locator(".conv-title")).to_have_text(["Paris museums", "Weekend shopping", "Trip to Paris"])
    await expect(page.locator(".topbar-title").first).to_have_text("Weekend shopping")
    assert "Weekend shopping" in await api_titles(base_url)
    await page.reload()
    await expect(page.locator(".conv-title", has_text="Weekend shopping")).to_be_visible()


async def test_delete_a_conversation_after_confirming(page, base_url, upstream):
    ids = await start_conversations(base_url, upstream)
    await open_chat(page, base_url, f"/#/c/{ids[0]}")
    await expect(page.locator(".msg.user .bubble")).to_have_text(["Trip to Paris"])

    row = page.locator(".conv", has_text="Trip to Paris")
    await row.locator(".conv-delete").click()
    dialog = page.locator("dialog.modal")
    await expect(dialog).to_contain_text("Trip to Paris")
    await dialog.locator("button", has_text="Cancel").click()
    await expect(dialog).to_have_count(0)
    await expect(page.locator(".conv-title")).to_have_count(3)  # cancelled: nothing deleted

    await row.locator(".conv-delete").click()
    await page.locator("dialog.modal button", has_text="Delete").click()

    await expect(page.locator(".conv-title")).to_have_text(["Paris museums", "Grocery list"])
    assert await api_titles(base_url) == ["Paris museums", "Grocery list"]
    # The open conversation was the deleted one: the page is back to a new chat.
    await expect(page.locator(".empty-chat")).to_be_visible()


async def test_search_conversations_by_title(page, base_url, upstream):
    await start_conversations(base_url, upstream)
    await open_chat(page, base_url)

    await page.locator(".search-input").fill("paris")

    await expect(page.locator(".conv-title")).to_have_text(["Paris museums", "Trip to Paris"])
    await page.locator(".search-input").fill("nothing like this")
    await expect(page.locator(".conversations .list-note")).to_contain_text("No conversation titled")
    await page.locator(".search-input").fill("")
    await expect(page.locator(".conv-title")).to_have_count(3)
