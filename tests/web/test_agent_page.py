"""Agent turns in a browser: a card per tool call that fills in as the tool runs, and the same cards after a reload."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.fake_openai import Reply
from tests.web.pages import choose_kind, finished_answer, open_chat, send


def call(name: str, **arguments) -> Reply:
    return Reply(text="", tool_calls=[{"name": name, "arguments": arguments}])


async def test_a_tool_card_appears_running_then_fills_in_and_survives_a_reload(page, base_url, upstream):
    upstream.enqueue(call("slow_lookup", topic="pumps"), "The notes say pumps need pressure.")
    await open_chat(page, base_url)
    await choose_kind(page, "agent_chat")

    await send(page, "Look up pumps")

    card = page.locator(".tool-card")
    await expect(card).to_have_class(re.compile(r"\brunning\b"))  # the tool takes a second
    await expect(card.locator(".spinner")).to_be_visible()
    await expect(card.locator(".tool-name")).to_have_text("slow_lookup")
    await expect(card.locator(".tool-input")).to_contain_text('"topic":"pumps"')
    await expect(card).to_have_class(re.compile(r"\bdone\b"), timeout=10_000)
    await expect(card.locator(".tool-output")).to_have_text("notes about pumps")
    await expect(card.locator(".tool-time")).to_have_text(re.compile(r"^\d+(\.\d+)? (ms|s)$"))
    answer = await finished_answer(page)
    await expect(answer.locator(".answer")).to_have_text("The notes say pumps need pressure.")

    await page.reload()

    answer = await finished_answer(page)
    card = answer.locator(".tool-card")
    await expect(card).to_have_count(1)
    await expect(card).to_have_class(re.compile(r"\bdone\b"))
    await expect(card.locator(".tool-name")).to_have_text("slow_lookup")
    await expect(card.locator(".tool-input")).to_contain_text('"topic":"pumps"')
    await expect(card.locator(".tool-output")).to_have_text("notes about pumps")
    await expect(card.locator(".tool-time")).to_have_text(re.compile(r"^\d+(\.\d+)? (ms|s)$"))
    await expect(answer.locator(".answer")).to_have_text("The notes say pumps need pressure.")
    await expect(page.locator(".kind[data-kind=agent_chat]")).to_have_attribute("aria-checked", "true")


async def test_a_failing_tool_is_a_red_card_and_the_answer_goes_on(page, base_url, upstream):
    upstream.enqueue(call("broken", reason="testing"), call("calculator", expression="6*7"), "It is 42.")
    await open_chat(page, base_url)
    await choose_kind(page, "agent_chat")

    await send(page, "Try the broken tool, then compute 6*7")

    answer = await finished_answer(page)
    failed, worked = answer.locator(".tool-card").nth(0), answer.locator(".tool-card").nth(1)
    await expect(failed).to_have_class(re.compile(r"\berror\b"))
    await expect(failed.locator(".tool-error")).to_contain_text("kaboom: testing")
    await expect(worked).to_have_class(re.compile(r"\bdone\b"))
    await expect(worked.locator(".tool-output")).to_have_text("42")
    await expect(answer.locator(".answer")).to_have_text("It is 42.")
    await expect(answer.locator(".msg-error")).to_be_hidden()

    await page.reload()
    answer = await finished_answer(page)
    await expect(answer.locator(".tool-card.error .tool-error")).to_contain_text("kaboom: testing")
    await expect(answer.locator(".tool-card.done .tool-output")).to_have_text("42")


async def test_the_tool_allow_list_is_sent_with_the_turn(page, base_url, upstream):
    upstream.enqueue("No tools needed.")
    await open_chat(page, base_url)
    await choose_kind(page, "agent_chat")

    await page.locator(".tools-picker summary").click()
    await page.locator(".tools-list .link-btn", has_text="None").click()
    await page.locator(".tool-option", has_text="calculator").locator("input").check()
    await expect(page.locator(".tools-count")).to_have_text("Tools: 1/5")
    await send(page, "Hello agent")
    await finished_answer(page)

    offered = [tool["function"]["name"] for tool in upstream.requests[-1].get("tools", [])]
    assert offered == ["calculator"]


async def test_a_long_tool_output_is_collapsed_until_asked_for(page, base_url, upstream):
    upstream.enqueue(call("report", lines=40), "A long report.")
    await open_chat(page, base_url)
    await choose_kind(page, "agent_chat")

    await send(page, "Write a long report")

    answer = await finished_answer(page)
    output = answer.locator(".tool-output")
    await expect(output).to_have_class(re.compile(r"\bclamped\b"))
    await expect(answer.locator(".tool-more")).to_have_text("Show all (40 lines, 310 chars)")
    await answer.locator(".tool-more").click()
    await expect(output).not_to_have_class(re.compile(r"\bclamped\b"))
    await expect(answer.locator(".tool-more")).to_have_text("Show less")
