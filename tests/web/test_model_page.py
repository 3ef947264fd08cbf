"""What the page says about who answers, and which tools can work: the embedded model
is named and marked as a small offline model; a tool that cannot work is greyed out
and not counted; a suggestion click sends the question."""

from __future__ import annotations

from playwright.async_api import expect

from agent_service.api.app import create_app
from tests.conftest import REPO
from tests.web.pages import choose_kind, finished_answer, open_chat


async def test_the_page_names_the_embedded_model_and_marks_it_offline(page, make_settings, live_server_for):
    app = create_app(make_settings(models={"local": {"provider": "llamacpp"}, "scripted": {"provider": "fake"}}))
    await open_chat(page, live_server_for(app))

    await expect(page.locator(".model-select option").first).to_have_text("local · SmolLM2-135M-Instruct")
    note = page.locator(".model-note")
    await expect(note).to_be_visible()
    await expect(note).to_contain_text("SmolLM2-135M-Instruct answers: a small offline model (135M parameters)")
    await expect(note).to_contain_text("Connecting a real model")

    await page.locator(".model-select").select_option("scripted")
    await expect(note).to_be_hidden()
    app.state.services.close()


async def test_tools_that_cannot_work_are_greyed_out_and_not_counted(page, make_settings, live_server_for):
    app = create_app(make_settings(tools_dir=REPO / "tools"))  # sql_query has no database configured
    await open_chat(page, live_server_for(app))
    await choose_kind(page, "agent_chat")

    await expect(page.locator(".tools-count")).to_have_text("Tools: all 4")  # 5 listed, sql_query greyed
    await page.locator(".tools-picker summary").click()
    sql = page.locator(".tool-option", has_text="sql_query")
    await expect(sql).to_have_class("tool-option unavailable")
    await expect(sql.locator("input")).to_be_disabled()
    await expect(sql).to_contain_text("Not available: sql_query is not configured")
    app.state.services.close()


async def test_a_suggestion_click_sends_it(page, base_url, upstream):
    upstream.enqueue("Recursion is a function calling itself.")
    await open_chat(page, base_url)
    await choose_kind(page, "llm_chat")

    await page.locator(".suggestion").first.click()

    await expect(page.locator(".msg.user .bubble")).to_have_text("Explain recursion with a short Python example")
    answer = await finished_answer(page)
    await expect(answer.locator(".answer")).to_contain_text("Recursion is a function calling itself.")
