"""Serving an uploaded file back: it is the user's document, never a page of this origin.

An uploaded `.html` or `.svg` shown inline would run its scripts with the
service's origin (and read every conversation). So every file goes out as an
attachment (Chatchat's `preview` too: the browser saves it, never renders it
here), with `nosniff` and a sandboxing CSP (no script, no requests, an origin
of its own) for a browser that would render it anyway.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi.responses import FileResponse

SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'",
}


def document_response(path: Path, file_name: str) -> FileResponse:
    media_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
    return FileResponse(
        path, filename=file_name, media_type=media_type, content_disposition_type="attachment", headers=SAFE_HEADERS
    )
