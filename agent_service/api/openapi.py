"""The OpenAPI schema, with the values this service accepts filled in.

Some request fields take one of a set that the running service knows and the
code does not: a configured model, a prompt template's file, a loaded tool,
the configured embedding model. A request model marks such a string with
`one_of(<set>)` (or `NAMES` for text that names members); when the schema is
served, each mark becomes an `enum` (or a `pattern`) of the set's members, so
clients (and the fuzzer) know what the routes accept.

FastAPI builds and caches the schema itself; the sets are read again each time
it is served, because prompt files and tools change while the service runs
(templates are read when their files change; `POST /tools/reload`).
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from agent_service.knowledge.names import WHITESPACE
from agent_service.protocols.schema_marks import CHOICES, NAMES, PROMPTS, SEPARATOR

if TYPE_CHECKING:
    from agent_service.services import Services


def members(services: Services, choices: str) -> list[str]:
    if choices.startswith(PROMPTS):
        return services.prompts.names(choices.removeprefix(PROMPTS))
    if choices == "models":
        return list(services.models.configs)
    if choices == "tools":
        return services.tools.names()
    if choices == "embedding_model":
        return [services.knowledge.embedding_model]
    raise ValueError(f"no such set of choices: {choices!r}")


SPECIAL = re.compile(r"[\\^$.|?*+()[\]{}]")


def regex_literal(text: str) -> str:
    """`text` as a regex that Python and ECMA read alike (`re.escape` escapes more, which ECMA refuses)."""
    return SPECIAL.sub(lambda match: "\\" + match.group(), text)


def names_pattern(names: list[str], separator: str | None) -> str:
    """Text that, split at `separator` and each part stripped, holds only `names` and blanks."""
    space = f"[{WHITESPACE}]*"
    name = f"{space}(?:(?:{'|'.join(map(regex_literal, names))}){space})?"
    return f"^{name}(?:{regex_literal(separator)}{name})*$" if separator else f"^{name}$"


def fill_choices(schema: Any, services: Services) -> None:
    """Replace each mark in `schema` with the `enum` or `pattern` of its set, in place."""
    if isinstance(schema, dict):
        if CHOICES in schema:
            schema["enum"] = members(services, schema.pop(CHOICES))
        if NAMES in schema:
            schema["pattern"] = names_pattern(members(services, schema.pop(NAMES)), schema.pop(SEPARATOR, None))
        for value in schema.values():
            fill_choices(value, services)
    elif isinstance(schema, list):
        for item in schema:
            fill_choices(item, services)


def serve_schema_with_choices(app: FastAPI, services: Services) -> None:
    """`app.openapi()` (and so `/openapi.json`) fills the marks from `services`."""
    cached = app.openapi

    def openapi() -> dict[str, Any]:
        schema = copy.deepcopy(cached())
        fill_choices(schema, services)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


VENDOR_URL = "/static/vendor"
# The docs pages load and send nothing beyond this service (ReDoc would fetch its logo from its CDN).
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def _confined(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_POLICY
    return page


def serve_docs(app: FastAPI, *, dependencies: list[Any]) -> None:
    """`/openapi.json`, `/docs` and `/redoc`, with the routes' own `dependencies` (the key, when keys are on)."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=dependencies)
    def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    # Their scripts come from this service (`make vendor`), pinned and integrity-checked: a
    # script from a CDN would run in the origin whose local storage holds the page's API key.
    @app.get("/docs", include_in_schema=False, dependencies=dependencies)
    def swagger() -> HTMLResponse:
        return _confined(
            get_swagger_ui_html(
                openapi_url="/openapi.json",
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{VENDOR_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{VENDOR_URL}/swagger-ui.css",
                swagger_favicon_url=f"{VENDOR_URL}/favicon-32x32.png",
            )
        )

    @app.get("/redoc", include_in_schema=False, dependencies=dependencies)
    def redoc() -> HTMLResponse:
        return _confined(
            get_redoc_html(
                openapi_url="/openapi.json",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{VENDOR_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{VENDOR_URL}/favicon-32x32.png",
                with_google_fonts=False,
            )
        )
