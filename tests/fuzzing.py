"""Fuzzing the service over its own OpenAPI schema with schemathesis, against a
real uvicorn on 127.0.0.1 and the fake upstream (no model, no network).

Every operation in the schema gets requests generated from its parameters and
body schemas; nothing here names a route, so new routes are fuzzed as they
come. A finding is a request answered with a 5xx; a stream that broke (a body
cut short, or a frame that is not one data-only JSON line); and, with API keys
set, a request to a route that needs a key, sent without a valid one,
answered with anything but 401.

Used by tests/test_fuzz.py (a bounded run in `make test`) and bench/fuzz.py
(runs of any length).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy  # noqa: F401 - before the server's threads import it: hypothesis reads a half-imported numpy
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from agent_service.api.app import create_app
from agent_service.config import Settings
from tests.fake_openai import FakeOpenAI
from tests.threaded_server import ThreadedServer

REPO = Path(__file__).resolve().parent.parent
API_KEY = "sk-fuzz"
REQUEST_TIMEOUT = 60  # seconds; a request that takes longer is a finding too


def fuzz_settings(data: Path, upstream: FakeOpenAI, *, api_keys: list[str]) -> Settings:
    return Settings(
        data_dir=data / "data",
        kb_root=data / "knowledge_base",
        prompts_dir=REPO / "prompts",
        tools_dir=REPO / "tools",
        embeddings={"provider": "fake"},
        api_keys=api_keys,
        models={
            "gpt-test": {"provider": "openai", "base_url": upstream.base_url, "api_key": "sk-test", "max_retries": 0},
            "react": {"provider": "openai", "base_url": upstream.base_url, "agent_style": "react", "max_retries": 0},
            "scripted": {"provider": "fake", "responses": ["Scripted answer."]},
        },
    )


@contextmanager
def serve(settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    """The service on a free port: its base URL and its OpenAPI schema."""
    app = create_app(settings)
    server = ThreadedServer(app, lifespan="on")
    base_url = server.start()
    try:
        yield base_url, app.openapi()
    finally:
        server.stop(timeout=30)


@dataclass
class Finding:
    operation: str
    problem: str
    request: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.problem}\n    {self.request}"


@dataclass
class Report:
    requests: int = 0
    findings: list[Finding] = field(default_factory=list)

    def problems(self) -> set[tuple[str, str]]:
        return {(f.operation, f.problem.split(":")[0]) for f in self.findings}


def _stream_problem(body: str) -> str | None:
    frames = [frame for frame in body.split("\r\n\r\n") if frame and not frame.startswith(":")]
    if frames and frames[-1] == "data: [DONE]":
        frames.pop()  # how an OpenAI stream ends (/v1)
    for frame in frames:
        if not frame.startswith("data: ") or "\n" in frame:
            return f"broken stream: a frame that is not one data-only line: {frame[:200]!r}"
        try:
            json.loads(frame[len("data: ") :])
        except ValueError:
            return f"broken stream: a frame that is not JSON: {frame[:200]!r}"
    return None


def _problem(response: Any, *, must_be_401: bool) -> str | None:
    """What is wrong with a response (schemathesis's: headers map to lists), if anything."""
    if must_be_401 and response.status_code != 401:
        return f"not 401 without a valid key: {response.status_code} {response.text[:200]}"
    if response.status_code >= 500:
        return f"server error {response.status_code}: {response.text[:300]}"
    if (response.headers.get("content-type") or [""])[0].startswith("text/event-stream"):
        return _stream_problem(response.text)
    return None


def fuzz(
    base_url: str,
    openapi: dict[str, Any],
    *,
    examples: int,
    rounds_until: float | None = None,
    with_key: str | None = None,
    keys_required: bool = False,
    random_seed: int = 0,
) -> Report:
    """Send `examples` generated requests per operation (one round), or rounds with new
    seeds until the clock reaches `rounds_until`.

    `keys_required`: every request goes without a valid key (none, or a wrong one)
    and each route that declares a security scheme must answer 401.
    """
    schema = schemathesis.openapi.from_dict(openapi)
    schema.config.update(base_url=base_url)
    report = Report()
    session = requests.Session()
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    round_seed = random_seed
    while True:
        for operation in operations:
            _fuzz_operation(operation, session, report, examples, round_seed, with_key, keys_required)
        round_seed += 1
        if rounds_until is None or time.monotonic() >= rounds_until:
            return report


def _fuzz_operation(
    operation: Any,
    session: requests.Session,
    report: Report,
    examples: int,
    round_seed: int,
    with_key: str | None,
    keys_required: bool,
) -> None:
    secured = bool(operation.definition.raw.get("security"))
    name = f"{operation.method.upper()} {operation.path}"

    @seed(round_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # every request is checked, none raises: nothing to shrink
        suppress_health_check=list(HealthCheck),
    )
    # Valid requests by the schema, and requests that break it on purpose.
    @given(case=operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE))
    def send(case: Any) -> None:
        headers = {"Authorization": f"Bearer {with_key}"} if with_key else {}
        if keys_required:
            # No key, or a wrong one: never one the generator made up.
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            headers = {"Authorization": "Bearer not-the-key"} if report.requests % 2 else {}
        report.requests += 1
        try:
            response = case.call(session=session, headers=headers, timeout=REQUEST_TIMEOUT)
            problem = _problem(response, must_be_401=keys_required and secured)
        except requests.RequestException as exc:
            problem = f"broken response: {type(exc).__name__}: {exc}"
        if problem:
            report.findings.append(Finding(name, problem, _describe(case)))

    send()


def _describe(case: Any) -> str:
    parts = [f"{case.method} {case.formatted_path}"]
    if case.query:
        parts.append(f"query={case.query!r}")
    if case.body is not None and not isinstance(case.body, bytes | type(None)):
        parts.append(f"body={case.body!r}"[:500])
    return " ".join(parts)
