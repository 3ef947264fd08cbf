"""Knowledge bases in a browser: answers with numbered sources, and the page that manages bases."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import expect

from tests.web.pages import choose_kind, finished_answer, open_chat, send

PUMPS = b"# Pumps\n\nError E-7731 means the pump lost pressure. Check the valve first.\n"
FILTERS = b"# Filters\n\nRinse the filter with warm water every month.\n"


async def appliances(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        await client.post("/knowledge_bases", json={"name": "appliances", "description": "Manuals"})
        files = [("files", ("pumps.md", PUMPS)), ("files", ("filters.md", FILTERS))]
        response = await client.post("/knowledge_bases/appliances/files", files=files)
        assert [r["status"] for r in response.json()] == ["indexed", "indexed"]


async def test_a_knowledge_base_answer_cites_its_sources(page, base_url, upstream):
    await appliances(base_url)
    upstream.enqueue("E-7731 means the pump lost pressure [1]. Check the valve [1].")
    await open_chat(page, base_url)
    await choose_kind(page, "knowledge_base_chat")
    await expect(page.locator(".kb-select")).to_have_value("appliances")

    await send(page, "What does E-7731 mean?")

    answer = await finished_answer(page)
    sources = answer.locator(".sources")
    await expect(sources.locator(".sources-head")).to_contain_text("Sources")
    first = sources.locator(".source").first
    await expect(first.locator(".source-index")).to_have_text("[1]")
    await expect(first.locator(".source-file")).to_have_text("pumps.md")
    await expect(first.locator(".source-snippet")).to_contain_text("E-7731 means the pump lost pressure")
    await expect(first.locator(".source-score")).to_have_text(re.compile(r"^score (0|1)\.\d\d$"))
    await expect(first.locator("a.source-file")).to_have_attribute(
        "href", re.compile(r"/knowledge_bases/appliances/files/pumps\.md$")
    )
    await expect(answer.locator(".answer .cite")).to_have_text(["1", "1"])
    await answer.locator(".answer .cite").first.click()
    await expect(first).to_have_class(re.compile(r"\bflash\b"))
    async with page.expect_download() as download:
        await first.locator("a.source-file").click()
    assert (await download.value).suggested_filename == "pumps.md"

    await page.reload()
    answer = await finished_answer(page)
    await expect(answer.locator(".source").first.locator(".source-file")).to_have_text("pumps.md")
    await expect(answer.locator(".answer .cite")).to_have_text(["1", "1"])
    sent = upstream.requests[-1]["messages"][-1]["content"]
    assert "[1] (pumps.md)" in sent


async def test_create_a_base_upload_a_file_and_see_it_indexed(page, base_url, upstream):
    await page.goto(base_url + "/#/kb")
    await expect(page.locator(".empty-detail")).to_contain_text("No knowledge base yet")

    await page.locator(".new-kb").click()
    await page.locator("dialog.modal input[name=name]").fill("manuals")
    await page.locator("dialog.modal textarea").fill("Home appliance manuals")
    await page.locator("dialog.modal button", has_text="Create").click()
    await expect(page.locator(".kb-name")).to_have_text("manuals")
    await expect(page.locator(".kb-card[aria-current=page]")).to_contain_text("Home appliance manuals")

    await page.locator(".file-input").set_input_files(
        [{"name": "pumps.md", "mimeType": "text/markdown", "buffer": PUMPS}]
    )

    row = page.locator(".file-row", has_text="pumps.md")
    await expect(row.locator(".badge")).to_have_text("indexed", timeout=15_000)
    await expect(row.locator(".chunks")).to_have_text(re.compile(r"^[1-9]\d*$"))
    await expect(page.locator(".job .progress-label")).to_have_text("Done")
    await expect(page.locator(".job .result")).to_have_text([re.compile(r"pumps\.md: indexed, \d+ chunks")])
    await expect(page.locator(".kb-stats")).to_contain_text("1 files")

    await page.locator(".kb-search-input").fill("E-7731")
    async with page.expect_request("**/search") as searched:
        await page.locator(".kb-search-form button[type=submit]").click()
    await expect(page.locator(".hit").first.locator(".hit-file")).to_have_text("pumps.md")
    await expect(page.locator(".hit").first.locator(".hit-text")).to_contain_text("lost pressure")
    # An empty minimum score leaves the threshold to the route, as a chat's search does.
    assert "score_threshold" not in (await searched.value).post_data_json

    await page.get_by_label("Minimum score").fill("0.99")
    async with page.expect_request("**/search") as searched:
        await page.locator(".kb-search-form button[type=submit]").click()
    assert (await searched.value).post_data_json["score_threshold"] == 0.99


async def test_reindex_and_delete_from_the_page(page, base_url, upstream):
    await appliances(base_url)
    await page.goto(base_url + "/#/kb/appliances")
    await expect(page.locator(".file-row")).to_have_count(2)

    await page.locator(".reindex").click()
    await expect(page.locator(".job .progress-label").first).to_have_text("Done: 2 files", timeout=15_000)

    await page.locator(".file-row", has_text="filters.md").locator(".file-delete").click()
    await page.locator("dialog.modal button", has_text="Delete").click()
    await expect(page.locator(".file-row")).to_have_count(1)
    await expect(page.locator(".file-row")).to_contain_text("pumps.md")

    await page.locator(".delete-kb").click()
    await page.locator("dialog.modal button", has_text="Delete").click()
    await expect(page.locator(".kb-card")).to_have_count(0)
    async with httpx.AsyncClient(base_url=base_url) as client:
        assert (await client.get("/knowledge_bases")).json() == []


async def test_the_name_check_of_the_create_dialog_works_in_the_browser(page, base_url, watch):
    """Its pattern compiles in the browser's `v`-flag regular expressions (it did not: the check was skipped)."""
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    await page.goto(base_url + "/#/kb")
    await page.locator(".new-kb").click()
    name = page.locator("dialog.modal input[name=name]")

    await name.fill("a/b")
    slash = await name.evaluate("input => input.validity.patternMismatch")
    await name.fill("manuals 2026")
    fine = await name.evaluate("input => input.validity.patternMismatch")

    assert (slash, fine) == (True, False)
    assert not [text for text in messages if "pattern" in text.lower()]
