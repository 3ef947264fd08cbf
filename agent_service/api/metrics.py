"""`GET /metrics`: the service's metrics in Prometheus' text format."""

from __future__ import annotations

from fastapi import APIRouter, Response

from agent_service import metrics

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def prometheus_metrics() -> Response:
    """Requests by route and status, answers in flight, time to first token, model latency
    and errors by model, tool calls by tool and outcome, knowledge-search latency."""
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
