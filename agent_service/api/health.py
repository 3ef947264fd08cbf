"""`/health`: is the service up, and can it reach its database?"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from agent_service import __version__
from agent_service.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(services: ServicesDep) -> JSONResponse:
    try:
        with services.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        database = f"unavailable: {type(exc).__name__}"
    healthy = database == "ok"
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "version": __version__, "database": database},
        status_code=200 if healthy else 503,
    )
