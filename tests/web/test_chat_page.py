"""The chat page in a browser: a streamed reply, markdown and code, errors, feedback, the phone layout."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import expect

from tests.conftest import Rows
from tests.fake_openai import Reply
from tests.web.pages import finished_answer, open_chat, send

CODE_REPLY = "Here is **bold** text.\n\n```python\nprint('hi')\n```\n"


async def test_a_reply_streams_in_then_renders_markdown_and_code(page, base_url, upstream):
    words = ["Streaming", " one", " word", " at", " a", " time.", "\n\n", "Here is **bold**", " text."]
    upstream.enqueue(Reply(chunks=words, text="".join(words), delay=0.25))
    await open_chat(page, base_url)

    await send(page, "Say something slowly")

    answer = page.locator(".msg.assistant").last
    await expect(page.locator(".msg.user .bubble")).to_have_text("Say something slowly")
    # Part of the answer is on screen while the rest is still coming.
    await expect(answer.locator(".answer")).to_contain_text("Streaming one")
    await expect(answer).to_have_class(re.compile(r"\bstreaming\b"))
    await expect(page.locator(".stop-btn")).to_be_visible()
    answer = await finished_answer(page)
    await expect(answer.locator(".answer")).to_contain_text("Streaming one word at a time.")
    await expect(answer.locator(".answer strong")).to_have_text("bold")
    await expect(page.locator(".send-btn")).to_be_visible()
    # The new conversation is in the sidebar, titled by the question, and in the address.
    await expect(page.locator(".conv .conv-title")).to_have_text(["Say something slowly"])
    assert re.search(r"#/c/[0-9a-f]{32}$", page.url)


async def test_code_is_highlighted_with_a_copy_button(page, base_url, upstream):
    upstream.enqueue(CODE_REPLY)
    await open_chat(page, base_url)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    await send(page, "Show me code")

    answer = await finished_answer(page)
    block = answer.locator(".code-block")
    await expect(block.locator(".code-lang")).to_have_text("python")
    await expect(block.locator("code.hljs")).to_have_text("print('hi')")
    await expect(block.locator("code .hljs-string")).to_have_text("'hi'")
    await block.locator(".code-copy").click()
    await expect(block.locator(".code-copy")).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == "print('hi')"


async def test_the_conversation_continues_with_its_history(page, base_url, upstream):
    upstream.enqueue("Nice to meet you, Ada.", "Your name is Ada.")
    await open_chat(page, base_url)

    await send(page, "My name is Ada")
    await finished_answer(page)
    await send(page, "What is my name?")

    answer = await finished_answer(page)
    await expect(answer.locator(".answer")).to_have_text("Your name is Ada.")
    sent = [m["content"] for m in upstream.requests[-1]["messages"]]
    assert "My name is Ada" in sent and "Nice to meet you, Ada." in sent
    await expect(page.locator(".conv")).to_have_count(1)


async def test_a_stream_that_ends_with_an_error_shows_an_error_line(page, base_url, upstream):
    upstream.enqueue(Reply(text="The first words and then", fail_after=3))
    await open_chat(page, base_url)

    await send(page, "Break please")

    answer = await finished_answer(page)
    await expect(answer.locator(".answer")).to_have_text("The first words")
    await expect(answer.locator(".msg-error")).to_be_visible()
    await expect(answer.locator(".msg-error")).to_contain_text("Error")
    # The same after a reload: the stored message keeps its error.
    await page.reload()
    answer = await finished_answer(page)
    await expect(answer.locator(".msg-error")).to_be_visible()
    await expect(answer.locator(".answer")).to_have_text("The first words")


async def test_thumbs_up_is_stored_and_shown_after_a_reload(page, base_url, upstream, web_app):
    upstream.enqueue("A good answer.")
    await open_chat(page, base_url)
    await send(page, "Be good")
    answer = await finished_answer(page)

    await answer.locator(".feedback-up").click()

    await expect(answer.locator(".feedback-up")).to_have_attribute("aria-pressed", "true")
    stored = Rows(web_app).messages()[-1]
    assert stored.role == "assistant" and stored.feedback_score == 100
    await page.reload()
    answer = await finished_answer(page)
    await expect(answer.locator(".feedback-up")).to_have_attribute("aria-pressed", "true")
    await expect(answer.locator(".feedback-down")).to_have_attribute("aria-pressed", "false")


async def test_stop_keeps_what_was_said_and_marks_it_stopped(page, base_url, upstream):
    words = [f" word{n}" for n in range(40)]
    upstream.enqueue(Reply(chunks=words, text="".join(words), delay=0.1))
    await open_chat(page, base_url)
    await send(page, "Talk for a while")
    await expect(page.locator(".msg.assistant .answer")).to_contain_text("word2")

    await page.locator(".stop-btn").click()

    answer = await finished_answer(page)
    await expect(answer.locator(".msg-note")).to_contain_text("Stopped")
    assert "word39" not in await answer.locator(".answer").inner_text()


async def test_phone_width_hides_the_sidebar_behind_a_menu(browser, base_url, upstream, watch):
    from tests.web.conftest import open_context

    context = await open_context(browser, watch, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = await context.new_page()
    upstream.enqueue("Small screens work too.")
    await open_chat(page, base_url)

    await expect(page.locator(".sidebar")).not_to_be_in_viewport()
    await send(page, "Hello from a phone")
    await expect((await finished_answer(page)).locator(".answer")).to_have_text("Small screens work too.")
    await page.locator(".chat-view .menu-btn").click()
    await expect(page.locator(".sidebar")).to_be_in_viewport()
    await expect(page.locator(".conv .conv-title")).to_have_text(["Hello from a phone"])
    await page.locator(".conv-link").click()
    await expect(page.locator(".sidebar")).not_to_be_in_viewport()
    await context.close()


async def test_a_message_sent_while_the_page_is_still_loading_is_kept(page, base_url, upstream):
    def after(seconds):
        async def handler(route):
            await asyncio.sleep(seconds)
            await route.continue_()

        return handler

    # The conversation list arrives while the first message is on its way.
    await page.route(re.compile(r"/conversations\?"), after(1.0))
    await page.route("**/chat/chat", after(2.0))
    upstream.enqueue("Quick answer.")
    await page.goto(base_url + "/")
    await expect(page.locator(".composer-input")).to_be_visible()

    await send(page, "Typed at once")

    await expect(page.locator(".conv-title")).to_have_text(["Typed at once"])  # the lists have loaded since
    await page.wait_for_timeout(200)
    await expect(page.locator(".msg.user .bubble")).to_have_text(["Typed at once"])
    answer = await finished_answer(page)
    await expect(answer.locator(".answer")).to_have_text("Quick answer.")


async def test_shift_enter_makes_a_new_line_and_enter_sends(page, base_url, upstream):
    upstream.enqueue("Two lines received.")
    await open_chat(page, base_url)
    box = page.locator(".composer-input")

    await box.type("line one")
    await box.press("Shift+Enter")
    await box.type("line two")
    await expect(page.locator(".msg.user")).to_have_count(0)
    await box.press("Enter")

    await expect(page.locator(".msg.user .bubble")).to_have_text("line one\nline two")
    await expect((await finished_answer(page)).locator(".answer")).to_have_text("Two lines received.")
    assert upstream.requests[-1]["messages"][-1]["content"] == "line one\nline two"
    await expect(box).to_have_value("")
