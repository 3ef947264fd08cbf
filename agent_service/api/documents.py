"""Serving an uploaded file back: it is the user's document, never a page of this origin.

An uploaded `.html` or `.svg` shown inline would run its scripts with the
service's origin (and read every conversation). So every file goes out with
`nosniff` and a sandboxing CSP (no script, no requests, an origin of its own),
and markup asked for inline is shown as the text it is.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi.responses import FileResponse

SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'",
}
MARKUP = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml"}


def document_response(path: Path, file_name: str, *, inline: bool = False) -> FileResponse:
    media_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
    if inline and media_type in MARKUP:
        media_type = "text/plain; charset=utf-8"
    return FileResponse(
        path,
        filename=file_name,
        media_type=media_type,
        content_disposition_type="inline" if inline else "attachment",
        headers=SAFE_HEADERS,
    )
