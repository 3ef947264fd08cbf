"""Fuzzing the service over its own OpenAPI schema with schemathesis, against a
real uvicorn on 127.0.0.1 and the fake upstream (no model, no network).

Every operation in the schema gets requests generated from its parameters and
body schemas; nothing here names a route, so new routes are fuzzed as they
come. With `adversarial`, each generated request is sent again with its
strings replaced by inputs that once froze or exhausted the service (a reply
that sent the parser into cubic time, round() to ten million digits, SQL that
allocates a gigabyte, ...). A finding is a request answered with a 5xx; a
stream that broke (a body cut short, or a frame that is not one data-only
JSON line); a request that cost the service over MAX_CPU_SECONDS of CPU;
and, with API keys set, a request to a route that needs a key, sent without
a valid one, answered with anything but 401.

Used by tests/test_fuzz.py (a bounded run in `make test`) and bench/fuzz.py
(runs of any length).
"""

from __future__ import annotations

import json
import os
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
MAX_CPU_SECONDS = 2.0  # the service's CPU for one request, all its threads together
# Strings that once froze or exhausted the whole process, and their kin.
ADVERSARIAL = [
    "Action" + " " * 20_000 + "x",
    "\n{" * 4_000,
    " " * 100_000,
    "round(1, -10**7)",
    "9" * 5_000 + "**" + "9" * 5_000,
    "SELECT length(zeroblob(1000000000) || zeroblob(0))",
    "SELECT printf('%.*c', 1000000000, 'x')",
    "Action: calculator\nAction Input: " + "[" * 50_000,
    '{"a":' * 20_000,
    "\u202e\x00" + "ü" * 50_000,
]


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


@dataclass
class Service:
    base_url: str
    openapi: dict[str, Any]
    # Threads of this process from before the service started (the fuzzer's, the fake
    # upstream's, what earlier tests left running): their CPU is not the service's.
    other_threads: frozenset[int]


@contextmanager
def serve(settings: Settings) -> Iterator[Service]:
    """The service on a free port, in this process."""
    other_threads = _thread_ids()
    app = create_app(settings)
    server = ThreadedServer(app, lifespan="on")
    base_url = server.start()
    try:
        yield Service(base_url, app.openapi(), other_threads)
    finally:
        server.stop(timeout=30)


def _thread_ids() -> frozenset[int]:
    return frozenset(int(task.name) for task in os.scandir("/proc/self/task"))


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
    most_cpu: tuple[float, str] = (0.0, "")  # seconds, and the request that took them

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
    # Refused before any route runs: uvicorn's answer to a malformed request, or the body limit's.
    refused_unread = response.status_code == 413 or response.text == "Invalid HTTP request received."
    if must_be_401 and response.status_code != 401 and not refused_unread:
        return f"not 401 without a valid key: {response.status_code} {response.text[:200]}"
    if response.status_code >= 500:
        return f"server error {response.status_code}: {response.text[:300]}"
    if (response.headers.get("content-type") or [""])[0].startswith("text/event-stream"):
        return _stream_problem(response.text)
    return None


def service_cpu_seconds(service: Service) -> float:
    """CPU time of the threads this process started since the service did: the service's."""
    ticks = 0
    for task in os.scandir("/proc/self/task"):
        if int(task.name) in service.other_threads:
            continue
        try:
            fields = Path(task.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def with_strings(value: Any, text: str) -> Any:
    """`value` with every string in it (keys aside) replaced by `text`."""
    if isinstance(value, str):
        return text
    if isinstance(value, dict):
        return {key: with_strings(item, text) for key, item in value.items()}
    if isinstance(value, list):
        return [with_strings(item, text) for item in value]
    return value


def fuzz(
    service: Service,
    *,
    examples: int,
    rounds_until: float | None = None,
    with_key: str | None = None,
    keys_required: bool = False,
    adversarial: bool = False,
    random_seed: int = 0,
) -> Report:
    """Send `examples` generated requests per operation (one round), or rounds with new
    seeds until the clock reaches `rounds_until`.

    `keys_required`: every request goes without a valid key (none, or a wrong one)
    and each route that declares a security scheme must answer 401. `adversarial`:
    each request is sent again with its body's and query's strings replaced by one
    of ADVERSARIAL.
    """
    schema = schemathesis.openapi.from_dict(service.openapi)
    schema.config.update(base_url=service.base_url)
    report = Report()
    session = requests.Session()
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    round_seed = random_seed
    while True:
        for operation in operations:
            _fuzz_operation(
                operation, service, session, report, examples, round_seed, with_key, keys_required, adversarial
            )
        round_seed += 1
        if rounds_until is None or time.monotonic() >= rounds_until:
            return report


def _fuzz_operation(
    operation: Any,
    service: Service,
    session: requests.Session,
    report: Report,
    examples: int,
    round_seed: int,
    with_key: str | None,
    keys_required: bool,
    adversarial: bool,
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
        check(case, headers)
        if adversarial:
            text = ADVERSARIAL[report.requests % len(ADVERSARIAL)]
            case.body = with_strings(case.body, text) if isinstance(case.body, dict | list | str) else case.body
            case.query = with_strings(case.query, text) if case.query else case.query
            check(case, headers)

    def check(case: Any, headers: dict[str, str]) -> None:
        report.requests += 1
        spent = service_cpu_seconds(service)
        try:
            response = case.call(session=session, headers=headers, timeout=REQUEST_TIMEOUT)
            problem = _problem(response, must_be_401=keys_required and secured)
        except requests.RequestException as exc:
            problem = f"broken response: {type(exc).__name__}: {exc}"
        cpu = service_cpu_seconds(service) - spent
        if cpu > report.most_cpu[0]:
            report.most_cpu = (cpu, _describe(case))
        if not problem and cpu > MAX_CPU_SECONDS:
            problem = f"too much CPU: {cpu:.1f} s for one request"
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
