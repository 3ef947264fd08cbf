"""Replies are markdown rendered safely: nothing in a reply, a title or a tool output runs."""

from __future__ import annotations

from playwright.async_api import expect

from tests.fake_openai import Reply
from tests.web.pages import choose_kind, finished_answer, open_chat, send

HOSTILE = (
    "**still bold**\n\nLook: <script>window.__pwned = 1; alert('script')</script>\n\n"
    "<img src=x onerror=\"window.__pwned = 2; alert('img')\">\n\n"
    '[a link](javascript:window.__pwned=3) and <a href="#" onclick="window.__pwned=4">another</a>\n\n'
    '<iframe src="javascript:window.parent.__pwned=5"></iframe>'
)


async def assert_nothing_ran(page, watch) -> None:
    assert await page.evaluate("typeof window.__pwned") == "undefined"
    assert watch.dialogs == []


async def test_a_reply_with_a_script_tag_runs_nothing(page, base_url, upstream, watch):
    upstream.enqueue(Reply(text=HOSTILE, chunks=[HOSTILE[i : i + 7] for i in range(0, len(HOSTILE), 7)]))
    await open_chat(page, base_url)

    await send(page, "Be hostile")

    answer = await finished_answer(page)
    body = answer.locator(".answer")
    await expect(body.locator("strong")).to_have_text("still bold")  # the markdown around it still renders
    await expect(body.locator("script, iframe, [onerror], [onclick]")).to_have_count(0)
    await expect(body.locator("a[href^='javascript']")).to_have_count(0)
    await body.locator("img").first.wait_for(state="attached")
    await body.locator("a", has_text="another").click()
    await page.wait_for_timeout(300)  # an onerror or a click handler would have run by now
    await assert_nothing_ran(page, watch)

    await page.reload()  # the stored message is rendered the same way
    answer = await finished_answer(page)
    await expect(answer.locator(".answer strong")).to_have_text("still bold")
    await page.wait_for_timeout(300)
    await assert_nothing_ran(page, watch)


async def test_a_hostile_question_and_tool_output_are_shown_as_text(page, base_url, upstream, watch):
    question = '<img src=x onerror="window.__pwned=1;alert(1)"> what?'
    upstream.enqueue(
        Reply(text="", tool_calls=[{"name": "slow_lookup", "arguments": {"topic": "<script>alert(1)</script>"}}]),
        "Done.",
    )
    await open_chat(page, base_url)
    await choose_kind(page, "agent_chat")

    await send(page, question)

    answer = await finished_answer(page)
    await expect(page.locator(".msg.user .bubble")).to_have_text(question)
    await expect(page.locator(".conv-title")).to_have_text([question])
    await expect(answer.locator(".tool-output")).to_have_text("notes about <script>alert(1)</script>")
    await page.wait_for_timeout(300)
    await assert_nothing_ran(page, watch)


async def test_without_the_markdown_libraries_a_reply_is_plain_escaped_text(page, base_url, upstream, watch):
    await page.route("**/static/vendor/**", lambda route: route.abort())
    reply = '**not bold** <b>not markup</b> <img src=x onerror="window.__pwned=1">'
    upstream.enqueue(reply)
    await open_chat(page, base_url)

    await send(page, "Anything")

    answer = await finished_answer(page)
    await expect(answer.locator(".answer")).to_have_text(reply)
    await expect(answer.locator(".answer b, .answer strong, .answer img")).to_have_count(0)
    await assert_nothing_ran(page, watch)


async def test_an_image_from_elsewhere_in_a_reply_is_named_not_fetched(page, base_url, upstream, watch):
    import http.server
    import threading

    fetched: list[str] = []

    class Leak(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the server's name for it
            fetched.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    collector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Leak)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    leak = f"http://127.0.0.1:{collector.server_address[1]}/leak?d=my-secret-plans"
    upstream.enqueue(f"Here is a chart:\n\n![chart]({leak})\n\nand a [link]({leak}).")
    await open_chat(page, base_url)

    await send(page, "Draw my secret plans")

    answer = await finished_answer(page)
    image = answer.locator(".answer img")
    await expect(image).to_have_attribute("alt", f"[image not loaded: {leak}]")
    await expect(image).not_to_have_attribute("src", leak)
    await page.reload()
    await finished_answer(page)
    await page.wait_for_timeout(500)
    collector.shutdown()
    assert fetched == []  # the link is there to click; nothing went out by itself


async def test_an_uploaded_html_file_previewed_runs_no_script(page, base_url, watch):
    import httpx

    hostile = b"<html><body><script>document.title = 'pwned'; fetch('/conversations')</script>hello</body></html>"
    link = "/knowledge_base/download_doc?knowledge_base_name=docs&file_name=page.html"
    async with httpx.AsyncClient(base_url=base_url) as http:
        await http.post("/knowledge_bases", json={"name": "docs"})
        await http.post("/knowledge_bases/docs/files", files=[("files", ("page.html", hostile))])
        served = [await http.get(link + preview) for preview in ("", "&preview=true", "&preview=false")]
    for response in served:
        assert response.content == hostile
        assert response.headers["content-disposition"].startswith("attachment;")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]

    await page.goto(f"{base_url}/")
    async with page.expect_download() as saved:
        await page.evaluate("link => { location.href = link }", link + "&preview=true")
    assert (await saved.value).suggested_filename == "page.html"  # saved, not rendered
    assert await page.title() != "pwned"
