"""A caller may have only so many answers running at once: answers that go on after
their client left (`on_disconnect: continue`) would otherwise pile up without end."""

from __future__ import annotations

import httpx
import pytest

from agent_service.api.app import create_app
from agent_service.db.secrets import key_fingerprint
from tests.conftest import Rows, wait_for
from tests.fake_openai import FakeOpenAI, Reply

ALICE, BOB = "sk-alice-0123456789", "sk-bob-9876543210"


@pytest.fixture
def served(make_settings, live_server_for):
    app = create_app(make_settings(api_keys=[ALICE, BOB], max_live_answers_per_caller=2))
    yield app, live_server_for(app)
    app.state.services.close()


def leave_running(url: str, key: str | None = None, address: str | None = None) -> str:
    """Start a long answer that goes on after its client hangs up; its message id."""
    body = {"query": "long", "stream": True, "model_name": "gpt-test", "on_disconnect": "continue"}
    headers = {"Authorization": f"Bearer {key}"} if key else {"X-Forwarded-For": address or ""}
    with httpx.stream("POST", f"{url}/chat/chat", json=body, headers=headers, timeout=10) as response:
        for line in response.iter_lines():
            if '"type":"metadata"' in line:
                return line.split('"message_id":"')[1].split('"')[0]
    raise AssertionError("no metadata event")


def test_a_caller_over_the_cap_gets_a_429_and_other_answers_are_served(served, upstream: FakeOpenAI):
    app, url = served
    for _ in range(2):
        upstream.enqueue(Reply(text=" ".join(["word"] * 200), delay=0.05))  # 10 s each
    running = [leave_running(url, ALICE), leave_running(url, ALICE)]

    def chat(key: str, query: str, **extra) -> httpx.Response:
        body = {"query": query, "model_name": "gpt-test", **extra}
        return httpx.post(f"{url}/chat/chat", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    refused = chat(ALICE, "one more", on_disconnect="continue")
    attached = chat(ALICE, "while I wait")  # ends with its connection: not counted
    bob = chat(BOB, "mine", on_disconnect="continue")

    assert refused.status_code == 429
    assert "2 answers of yours that go on after their client leaves" in refused.json()["msg"]
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert attached.status_code == 200 and bob.status_code == 200
    rows = Rows(app)
    assert "one more" not in [m.content for m in rows.messages() if m.role == "user"]  # the refused one wrote nothing

    for message_id in running:
        httpx.post(f"{url}/chat/messages/{message_id}/stop", headers={"Authorization": f"Bearer {ALICE}"})
    wait_for(lambda: app.state.services.runs.live_for(key_fingerprint(ALICE, app.state.services.key_secret)) == 0)
    assert chat(ALICE, "now", on_disconnect="continue").status_code == 200


def test_with_keys_off_the_cap_is_per_client_address(make_settings, live_server_for, upstream: FakeOpenAI):
    """Through a proxy on loopback (uvicorn takes the client's address from X-Forwarded-For)."""
    app = create_app(make_settings(max_live_answers_per_caller=2))
    url = live_server_for(app)
    for _ in range(3):
        upstream.enqueue(Reply(text=" ".join(["word"] * 200), delay=0.05))
    running = [leave_running(url, address="10.0.0.1"), leave_running(url, address="10.0.0.1")]

    def chat(address: str) -> httpx.Response:
        body = {"query": "more", "model_name": "gpt-test", "on_disconnect": "continue"}
        return httpx.post(f"{url}/chat/chat", json=body, headers={"X-Forwarded-For": address}, timeout=30)

    refused, other = chat("10.0.0.1"), chat("10.0.0.2")

    assert refused.status_code == 429 and other.status_code == 200
    for message_id in running:
        httpx.post(f"{url}/chat/messages/{message_id}/stop")
    app.state.services.close()
