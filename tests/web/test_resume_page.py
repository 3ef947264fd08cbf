"""Answers that outlive the page: a reload mid-answer re-attaches, two tabs follow one answer, stop from either."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.conftest import Rows, wait_for
from tests.fake_openai import Reply
from tests.web.pages import choose_kind, finished_answer, open_chat, send
from tests.web.test_agent_page import call

WORDS = [f" word{n}" for n in range(30)]


async def test_a_reload_mid_answer_picks_the_answer_up_again(page, base_url, upstream, web_app):
    upstream.enqueue(Reply(chunks=WORDS, text="".join(WORDS), delay=0.1))
    await open_chat(page, base_url)
    await send(page, "Talk for a while")
    await expect(page.locator(".msg.assistant .answer")).to_contain_text("word3")

    await page.reload()

    answer = await finished_answer(page)
    await expect(answer.locator(".answer")).to_have_text("word0" + "".join(WORDS[1:]))
    stored = wait_for(Rows(web_app).saved_answer)
    assert stored.status == "complete"
    assert (await answer.locator(".answer").inner_text()).strip() == stored.content.strip()
    await expect(answer.locator(".msg-error")).to_be_hidden()


async def test_two_tabs_show_one_live_answer_with_its_tool_cards(page, base_url, upstream):
    upstream.enqueue(call("slow_lookup", topic="pumps"), "The notes say pumps need pressure.")
    await open_chat(page, base_url)
    await choose_kind(page, "agent_chat")
    await send(page, "Look up pumps")
    await expect(page.locator(".tool-card")).to_have_class(re.compile(r"\brunning\b"))
    await expect(page).to_have_url(re.compile(r"#/c/[0-9a-f]{32}$"))

    other = await page.context.new_page()
    await other.goto(page.url)

    for tab in (page, other):
        card = tab.locator(".tool-card")
        await expect(card.locator(".tool-name")).to_have_text("slow_lookup")
        await expect(card).to_have_class(re.compile(r"\bdone\b"), timeout=10_000)
        await expect(card.locator(".tool-output")).to_have_text("notes about pumps")
        answer = await finished_answer(tab)
        await expect(answer.locator(".answer")).to_have_text("The notes say pumps need pressure.")
    await other.close()


async def test_the_stop_button_of_another_tab_stops_the_answer(page, base_url, upstream, web_app):
    upstream.enqueue(Reply(chunks=WORDS, text="".join(WORDS), delay=0.15))
    await open_chat(page, base_url)
    await send(page, "Talk for a while")
    await expect(page.locator(".msg.assistant .answer")).to_contain_text("word1")
    other = await page.context.new_page()
    await other.goto(page.url)
    await expect(other.locator(".msg.assistant .answer")).to_contain_text("word3")

    await other.locator(".stop-btn").click()

    for tab in (page, other):
        answer = await finished_answer(tab)
        await expect(answer.locator(".msg-note")).to_contain_text("Stopped")
    stored = Rows(web_app).saved_answer()
    assert (stored.status, stored.meta["reason"]) == ("interrupted", "stopped")
    assert "word29" not in stored.content
    await other.close()
