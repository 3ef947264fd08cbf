"""Serve the web chat: `/` is the page, `/static/...` its files.

Registered without the API-key dependency: the page itself holds no data,
and asks for a key when the API answers 401.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent / "static"
# Module scripts must come with a JavaScript type; Python's table lacks `.mjs` before 3.12.
MEDIA_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html"}
# Revalidate every time (ETag): an upgraded service never runs a stale page. The page loads
# nothing from elsewhere (no image a reply names can carry a conversation out) and no one
# frames it.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'",
}

router = APIRouter(include_in_schema=False)


def _file(path: Path) -> FileResponse:
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix), headers=PAGE_HEADERS)


@router.get("/")
def index() -> FileResponse:
    return _file(STATIC / "index.html")


@router.get("/static/{path:path}")
def static_file(path: str) -> FileResponse:
    file = (STATIC / path).resolve()
    if not file.is_relative_to(STATIC) or not file.is_file() or file.name.startswith("."):
        raise HTTPException(404, f"no such file: {path}")
    return _file(file)
