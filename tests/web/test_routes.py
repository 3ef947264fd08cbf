"""The page and its files are served at / without an API key; the API still needs one."""

from __future__ import annotations

import pytest

from agent_service.api.app import create_app
from tests.asgi import asgi_client


@pytest.fixture
async def keyed_client(make_settings):
    app = create_app(make_settings(api_keys=["secret"]))
    async with asgi_client(app) as client:
        yield client
    app.state.services.close()


async def test_the_page_loads_without_a_key_while_the_api_asks_for_one(keyed_client):
    page = await keyed_client.get("/")
    script = await keyed_client.get("/static/app.js")
    models = await keyed_client.get("/models")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/app.js">' in page.text
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert page.headers["cache-control"] == "no-cache"
    assert models.status_code == 401


async def test_module_files_have_a_javascript_type(client):
    response = await client.get("/static/vendor/purify.es.mjs")

    if response.status_code == 404:
        pytest.skip("the page's libraries are missing: run `make vendor`")
    assert response.headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize("path", ["/static/../routes.py", "/static/%2e%2e/routes.py", "/static/nope.js", "/static/"])
async def test_nothing_outside_the_static_folder_is_served(client, path):
    assert (await client.get(path)).status_code == 404


async def test_the_vendor_stamp_is_not_served(client):
    assert (await client.get("/static/vendor/.pins")).status_code == 404


async def test_the_api_docs_render_from_this_service_alone(page, base_url):
    """Swagger UI and ReDoc load their scripts from the service (the page fixture fails on any
    request that leaves 127.0.0.1): no CDN script runs in the origin that keeps the API key."""
    from playwright.async_api import expect

    await page.goto(f"{base_url}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("agent-service", timeout=15_000)
    await expect(page.locator(".opblock-summary-path", has_text="/chat/chat").first).to_be_visible()

    await page.goto(f"{base_url}/redoc")
    await expect(page.locator("h1", has_text="agent-service")).to_be_visible(timeout=15_000)
