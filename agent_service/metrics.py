"""Prometheus metrics, served at `GET /metrics` in Prometheus' text format.

Under `serve --workers N` each worker writes its numbers to files in
`PROMETHEUS_MULTIPROC_DIR` (set by the server), and `/metrics` adds them up.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter("agent_service_requests", "HTTP requests, by route and status", ["method", "route", "status"])
STREAMS = Gauge("agent_service_streams_in_flight", "Answers being generated", multiprocess_mode="livesum")
FIRST_TOKEN = Histogram(
    "agent_service_time_to_first_token_seconds", "From a turn's start to its answer's first token", buckets=SECONDS
)
MODEL_LATENCY = Histogram(
    "agent_service_model_first_chunk_seconds",
    "From a model call to its first chunk, by model",
    ["model"],
    buckets=SECONDS,
)
MODEL_ERRORS = Counter("agent_service_model_errors", "Model calls that failed, by model", ["model"])
TOOL_CALLS = Counter("agent_service_tool_calls", "Tool calls, by tool and outcome (ok or error)", ["tool", "outcome"])
KNOWLEDGE_SEARCH = Histogram("agent_service_knowledge_search_seconds", "Knowledge-base searches", buckets=SECONDS)

CONTENT_TYPE = CONTENT_TYPE_LATEST


def render() -> bytes:
    """Every metric in the text format; with several workers, all of theirs added up."""
    if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
