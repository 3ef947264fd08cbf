"""Fuzzing over the app's own OpenAPI schema (see tests/fuzzing.py): no 5xx, no
broken stream, no request that costs the service over 2 s of CPU, and with
keys set no route that needs one answers a request without a valid key with
anything but 401. Bounded to a few thousand requests per run; bench/fuzz.py
runs for as long as it is asked."""

from __future__ import annotations

from pathlib import Path

from tests.fake_openai import FakeOpenAI, Reply
from tests.fuzzing import ADVERSARIAL, API_KEY, fuzz, fuzz_settings, serve


def test_generated_requests_get_no_server_error_and_no_broken_stream(tmp_path: Path, upstream: FakeOpenAI):
    with serve(fuzz_settings(tmp_path, upstream, api_keys=[API_KEY])) as service:
        report = fuzz(service, examples=50, with_key=API_KEY)

    assert report.requests > 50 * 30
    assert not report.findings, "\n".join(map(str, report.findings))


def test_with_keys_set_every_request_without_a_valid_key_is_a_401(tmp_path: Path, upstream: FakeOpenAI):
    with serve(fuzz_settings(tmp_path, upstream, api_keys=[API_KEY])) as service:
        report = fuzz(service, examples=15, keys_required=True)

    assert not report.findings, "\n".join(map(str, report.findings))


def test_adversarial_requests_and_replies_each_cost_little_cpu(tmp_path: Path, upstream: FakeOpenAI):
    """Every request again with inputs that once froze the process, the model replying like a runaway."""
    upstream.default = Reply(text=ADVERSARIAL[0])
    with serve(fuzz_settings(tmp_path, upstream, api_keys=[API_KEY])) as service:
        report = fuzz(service, examples=6, with_key=API_KEY, adversarial=True, random_seed=1)

    assert report.requests > 2 * 6 * 30
    assert not report.findings, "\n".join(map(str, report.findings))
