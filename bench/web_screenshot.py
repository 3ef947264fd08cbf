"""The README's screenshots of the web chat: an agent answer with its tool trace,
and a knowledge-base answer with its sources.

Starts the fake OpenAI-compatible upstream and the service (real uvicorn,
SQLite in a temp dir) on 127.0.0.1, scripts the model's replies, and drives
Debian's Chromium with playwright. Writes `bench/screenshot-agent.png` and
`bench/screenshot-kb.png`. Run from the repo root: `.venv/bin/python -m bench.web_screenshot`.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from playwright.sync_api import expect, sync_playwright

from agent_service.api.app import create_app
from agent_service.config import Settings
from tests.fake_openai import FakeOpenAI, Reply
from tests.web.chromium import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent

AGENT_QUESTION = "How much is 2**10 + 3, and how far is 26.2 miles in kilometres?"
AGENT_ANSWER = (
    "Here are both results:\n\n"
    "| Question | Answer |\n|---|---|\n| `2**10 + 3` | **1027** |\n| 26.2 miles | **42.16 km** |\n\n"
    "A marathon (26.2 miles) is about 42.2 km. To check it in Python:\n\n"
    "```python\nprint(2**10 + 3, round(26.2 * 1.609344, 2))\n```"
)
KB_QUESTION = "Which port does the service listen on, and how do I change it?"
KB_ANSWER = (
    "agent-service listens on **127.0.0.1:7861** by default [1]. Set `AGENT_SERVICE_PORT` "
    "(and `AGENT_SERVICE_HOST`) or pass `--port` to `agent-service serve` to change it [1][2]."
)
KB_FILES = [
    (
        "serving.md",
        b"# Serving\n\nagent-service serve starts the API and the web page on 127.0.0.1:7861 by default. "
        b"Use --host and --port, or AGENT_SERVICE_HOST and AGENT_SERVICE_PORT, to change where it listens.\n",
    ),
    (
        "configuration.md",
        b"# Configuration\n\nEvery setting is an AGENT_SERVICE_* variable; AGENT_SERVICE_PORT "
        b"sets the port the service listens on.\n",
    ),
]


def serve(app) -> tuple[str, uvicorn.Server]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", server


def script_replies(upstream: FakeOpenAI) -> None:
    calls = [
        {"name": "calculator", "arguments": {"expression": "2**10 + 3"}},
        {"name": "unit_converter", "arguments": {"value": 26.2, "from_unit": "mile", "to_unit": "km"}},
    ]
    upstream.enqueue(
        Reply(text="", tool_calls=calls[:1]),
        Reply(text="", tool_calls=calls[1:]),
        Reply(text=AGENT_ANSWER, delay=0.01),
        Reply(text=KB_ANSWER, delay=0.01),
    )


def main() -> None:
    upstream = FakeOpenAI().start()
    script_replies(upstream)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            kb_root=Path(tmp) / "knowledge_base",
            tools_dir=REPO / "tools",
            prompts_dir=REPO / "prompts",
            embeddings={"provider": "fake"},
            kb_min_similarity=0.0,
            models={"qwen2.5-7b-instruct": {"provider": "openai", "base_url": upstream.base_url, "api_key": "none"}},
        )
        app = create_app(settings)
        url, server = serve(app)
        with httpx.Client(base_url=url) as client:
            client.post("/knowledge_bases", json={"name": "docs", "description": "How to run agent-service"})
            client.post("/knowledge_bases/docs/files", files=[("files", f) for f in KB_FILES])
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
            page.goto(url + "/")
            page.locator('.kind[data-kind="agent_chat"]').click()
            page.locator(".composer-input").fill(AGENT_QUESTION)
            page.locator(".composer-input").press("Enter")
            expect(page.locator(".msg.assistant .code-block")).to_be_visible(timeout=15_000)
            expect(page.locator(".msg.assistant.streaming")).to_have_count(0)
            page.screenshot(path=OUT / "screenshot-agent.png")

            page.locator(".new-chat").click()
            page.locator('.kind[data-kind="knowledge_base_chat"]').click()
            page.locator(".composer-input").fill(KB_QUESTION)
            page.locator(".composer-input").press("Enter")
            expect(page.locator(".msg.assistant .sources .source")).to_have_count(2, timeout=15_000)
            expect(page.locator(".msg.assistant.streaming")).to_have_count(0)
            page.locator(".msg.assistant .cite").first.hover()
            page.screenshot(path=OUT / "screenshot-kb.png")
            browser.close()
        server.should_exit = True
        app.state.services.close()
    upstream.stop()
    print(f"wrote {OUT / 'screenshot-agent.png'} and {OUT / 'screenshot-kb.png'}")


if __name__ == "__main__":
    main()
