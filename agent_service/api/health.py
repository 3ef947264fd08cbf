"""`/health`: is the service up, and can it reach each store it uses?"""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from agent_service import __version__
from agent_service.api.deps import ServicesDep
from agent_service.services import Services

router = APIRouter(tags=["health"])

CHECK_SECONDS = 3.0  # a store slower than this to answer counts as unavailable


@router.get("/health")
async def health(services: ServicesDep) -> JSONResponse:
    """`ok` when every store answers: the database, and with replicas Redis and the Chroma
    server; otherwise `degraded` (503) with each store's error."""
    stores = {"database": await _database(services), **await services.runs.check_stores()}
    if url := services.settings.chroma_url:
        stores["chroma"] = await _chroma(url)
    healthy = all(state == "ok" for state in stores.values())
    body = {"status": "ok" if healthy else "degraded", "version": __version__, "database": stores["database"]}
    return JSONResponse({**body, "stores": stores}, status_code=200 if healthy else 503)


async def _database(services: Services) -> str:
    def select_one() -> None:
        with services.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(select_one), CHECK_SECONDS)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"unavailable: {type(exc).__name__}"


async def _chroma(url: str) -> str:
    try:
        async with httpx.AsyncClient(timeout=CHECK_SECONDS) as http:
            (await http.get(f"{url.rstrip('/')}/api/v2/heartbeat")).raise_for_status()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"unavailable: {type(exc).__name__}"
