"""What a person does on the page, as helpers the browser tests share."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect


async def open_chat(page: Any, base_url: str, path: str = "/") -> None:
    await page.goto(base_url + path)
    await expect(page.locator(".composer-input")).to_be_visible()
    await expect(page.locator(".model-select option").first).to_be_attached()


async def choose_kind(page: Any, kind: str) -> None:
    await page.locator(f'.kind[data-kind="{kind}"]').click()


async def send(page: Any, text: str) -> None:
    await page.locator(".composer-input").fill(text)
    await page.locator(".composer-input").press("Enter")


async def finished_answer(page: Any) -> Any:
    """The newest assistant message, once its stream has ended."""
    answer = page.locator(".msg.assistant").last
    await expect(answer).not_to_have_class(re.compile(r"\bstreaming\b"), timeout=15_000)
    return answer
