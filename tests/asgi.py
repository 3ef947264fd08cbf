"""Talking to an app in-process, the one way that leaves no connection pool open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def asgi_client(
    app: FastAPI, base_url: str = "http://testserver", **kwargs: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on `app` (no lifespan, no server); on exit the app's remote models'
    connection pools are closed, in the event loop that used them."""
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, **kwargs) as http:
            yield http
    finally:
        await app.state.services.models.aclose()
