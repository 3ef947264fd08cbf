"""A web page the user visits cannot use the service against them (keys off, the default):
a cross-origin request that changes something is refused, and a loopback service answers
only to loopback names (no DNS rebinding). Clients that are not browsers are unaffected."""

from __future__ import annotations

import httpx
import pytest

from agent_service.api.app import create_app


@pytest.fixture
def served(make_settings, live_server_for):
    app = create_app(make_settings(allowed_hosts=[]))
    url = live_server_for(app)
    yield app, url
    app.state.services.close()


def bases(url: str) -> list[str]:
    return [kb["name"] for kb in httpx.get(f"{url}/knowledge_bases").json()]


def test_a_cross_site_form_cannot_delete_a_knowledge_base(served):
    _, url = served
    assert httpx.post(f"{url}/knowledge_bases", json={"name": "victim"}).status_code == 201

    # What a form on evil.example can send: a text/plain body holding the base's name.
    attack = httpx.post(
        f"{url}/knowledge_base/delete_knowledge_base",
        content=b'"victim"',
        headers={"Origin": "https://evil.example", "content-type": "text/plain"},
    )

    assert attack.status_code == 403
    assert "cross-origin request from 'https://evil.example' refused" in attack.json()["msg"]
    assert bases(url) == ["victim"]


def test_cross_origin_uploads_and_reloads_are_refused(served):
    _, url = served
    httpx.post(f"{url}/knowledge_bases", json={"name": "samples"})
    evil = {"Origin": "http://evil.example:8080"}

    upload = httpx.post(f"{url}/knowledge_bases/samples/files", files=[("files", ("x.txt", b"poison"))], headers=evil)
    reload = httpx.post(f"{url}/tools/reload", headers=evil)
    sandboxed = httpx.post(f"{url}/tools/reload", headers={"Origin": "null"})

    assert (upload.status_code, reload.status_code, sandboxed.status_code) == (403, 403, 403)
    assert httpx.get(f"{url}/knowledge_bases/samples/files").json() == []


def test_the_page_itself_and_clients_without_an_origin_pass(served):
    _, url = served
    same_origin = {"Origin": url}

    from_the_page = httpx.post(f"{url}/knowledge_bases", json={"name": "mine"}, headers=same_origin)
    from_curl = httpx.post(f"{url}/knowledge_bases", json={"name": "also-mine"})

    assert (from_the_page.status_code, from_curl.status_code) == (201, 201)


def test_another_host_name_is_refused_everywhere(served):
    _, url = served
    rebound = {"Host": "attacker.example"}

    for method, path in (("GET", "/conversations"), ("GET", "/knowledge_bases"), ("POST", "/mcp"), ("GET", "/")):
        response = httpx.request(method, f"{url}{path}", headers=rebound)
        assert response.status_code == 421, (path, response.text)
        assert "unknown host 'attacker.example'" in response.json()["msg"]
    port = url.rsplit(":", 1)[1]
    for name in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert httpx.get(f"{url}/health", headers={"Host": name}).status_code == 200


def test_allowed_hosts_add_names_and_a_star_allows_any(make_settings, live_server_for):
    named = create_app(make_settings(allowed_hosts=["agents.internal"]))
    anything = create_app(make_settings(allowed_hosts=["*"]))
    named_url, any_url = live_server_for(named), live_server_for(anything)

    assert httpx.get(f"{named_url}/health", headers={"Host": "agents.internal"}).status_code == 200
    assert httpx.get(f"{named_url}/health", headers={"Host": "other.internal"}).status_code == 421
    assert httpx.get(f"{any_url}/health", headers={"Host": "other.internal"}).status_code == 200
    named.state.services.close()
    anything.state.services.close()


def test_a_cross_site_fetch_without_an_origin_and_a_text_plain_body_are_refused(served):
    _, url = served
    httpx.post(f"{url}/knowledge_bases", json={"name": "victim"})

    cross_site = httpx.delete(f"{url}/knowledge_bases/victim", headers={"Sec-Fetch-Site": "cross-site"})
    text_plain = httpx.post(
        f"{url}/knowledge_base/delete_knowledge_base", content=b'"victim"', headers={"content-type": "text/plain"}
    )
    same_origin = httpx.get(f"{url}/knowledge_bases", headers={"Sec-Fetch-Site": "same-origin"})

    assert cross_site.status_code == 403 and text_plain.status_code == 415
    assert "send JSON" in text_plain.json()["msg"]
    assert same_origin.status_code == 200 and [kb["name"] for kb in same_origin.json()] == ["victim"]


def state_changing_routes(app) -> list[tuple[str, str]]:
    """Every route that changes something: the schema's POST/PUT/PATCH/DELETE, and /mcp."""
    paths = app.openapi()["paths"]
    found = [
        (method.upper(), path.replace("{", "").replace("}", ""))  # a path parameter's name as its value
        for path, operations in paths.items()
        for method in operations
        if method.upper() in ("POST", "PUT", "PATCH", "DELETE")
    ]
    return [*found, ("POST", "/mcp")]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Origin": "https://evil.example"}, {"json": {"name": "x"}}),
        ({"Sec-Fetch-Site": "cross-site"}, {"json": {"name": "x"}}),
        ({"Origin": "https://evil.example"}, {"data": {"name": "x"}}),  # a form
        ({"Sec-Fetch-Site": "same-site"}, {"files": [("files", ("x.txt", b"poison"))]}),
        ({"Origin": "null"}, {"content": b"x", "headers": {"content-type": "text/plain"}}),
    ],
    ids=["origin-json", "fetch-site-json", "origin-form", "same-site-multipart", "null-text-plain"],
)
def test_every_state_changing_route_refuses_a_cross_site_request(served, headers, body):
    app, url = served
    routes = state_changing_routes(app)
    assert len(routes) > 25

    answered = {}
    for method, path in routes:
        extra = dict(body)
        sent_headers = headers | extra.pop("headers", {})
        answered[f"{method} {path}"] = httpx.request(method, f"{url}{path}", headers=sent_headers, **extra).status_code

    assert set(answered.values()) == {403}, {route: code for route, code in answered.items() if code != 403}
    assert bases(url) == []
