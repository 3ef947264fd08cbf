"""Fuzzing over the app's own OpenAPI schema (see tests/fuzzing.py): no 5xx, no
broken stream, and with keys set no route that needs one answers a request
without a valid key with anything but 401. Bounded to a few hundred requests
per run; bench/fuzz.py runs for as long as it is asked."""

from __future__ import annotations

from pathlib import Path

from tests.fake_openai import FakeOpenAI
from tests.fuzzing import API_KEY, fuzz, fuzz_settings, serve


def test_generated_requests_get_no_server_error_and_no_broken_stream(tmp_path: Path, upstream: FakeOpenAI):
    with serve(fuzz_settings(tmp_path, upstream, api_keys=[API_KEY])) as (base_url, openapi):
        report = fuzz(base_url, openapi, examples=50, with_key=API_KEY)

    assert report.requests > 50 * 30
    assert not report.findings, "\n".join(map(str, report.findings))


def test_with_keys_set_every_request_without_a_valid_key_is_a_401(tmp_path: Path, upstream: FakeOpenAI):
    with serve(fuzz_settings(tmp_path, upstream, api_keys=[API_KEY])) as (base_url, openapi):
        report = fuzz(base_url, openapi, examples=15, keys_required=True)

    assert not report.findings, "\n".join(map(str, report.findings))
