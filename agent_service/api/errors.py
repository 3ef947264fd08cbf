"""Error responses: a status, and a message that says what is wrong.

Two shapes, each its protocol's (`protocols.openai.errors`,
`protocols.chatchat.errors`). The OpenAI-compatible routes (`/v1/...`) answer
exactly as OpenAI does; every other route answers in Chatchat's shape, and
carries OpenAI's `error` object too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from agent_service.api.deps import refused_key
from agent_service.errors import AuthenticationError, ServiceError
from agent_service.protocols.chatchat.errors import error_body
from agent_service.protocols.openai.errors import OPENAI_FIELD_CODES, openai_error

OPENAI_PREFIX = "/v1/"
# pydantic names the branch of a union it tried in `loc` ("str", "list[ContentPart]",
# "literal['none','auto']", "NamedToolChoice"): a type, not a field of the request.
_UNION_BRANCH = re.compile(r"^(str|int|float|bool|list|dict|none|[A-Z]\w*)$|[\[\]'(),]")


def _path(loc: tuple) -> tuple:
    """The field's path as the client wrote the request: no `body`, no union branches."""
    return tuple(part for part in loc if part != "body" and not (isinstance(part, str) and _UNION_BRANCH.search(part)))


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in _path(loc)) or "body"


def _reason(err: dict) -> str:
    # A validator's own ValueError reads "Value error, <its message>": the message is what says what is wrong.
    return err["msg"].removeprefix("Value error, ")


def _plain_errors(errors: Sequence[dict]) -> list[tuple[str, str]]:
    """(field path, what is wrong), one per field. When every branch of a union failed, a
    branch that got into the value says more than one that failed at the value itself."""
    located = [(_location(err["loc"]), err) for err in errors]

    def from_a_branch(err: dict) -> bool:
        return len(_path(err["loc"])) < len([part for part in err["loc"] if part != "body"])

    kept = [
        (path, err)
        for path, err in located
        if not (from_a_branch(err) and any(other.startswith(path + ".") for other, _ in located))
    ]
    reasons: dict[str, list[str]] = {}
    for path, err in kept:
        reasons.setdefault(path, [])
        if _reason(err) not in reasons[path]:
            reasons[path].append(_reason(err))
    return [
        (path, " or ".join([said[0], *(r[:1].lower() + r[1:] for r in said[1:])])) for path, said in reasons.items()
    ]


def _respond(
    request: Request,
    status_code: int,
    message: str,
    *,
    code: str | None,
    param: str | None = None,
    detail: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = openai_error(status_code, message, code=code, param=param)
    if not request.url.path.startswith(OPENAI_PREFIX):
        body = {**error_body(status_code, message), **body}
        if detail is not None:
            body["detail"] = detail
    return JSONResponse(jsonable_encoder(body, custom_encoder={Exception: str}), status_code, headers=headers)


def _service_error_response(request: Request, exc: ServiceError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
    return _respond(request, exc.status_code, str(exc), code=exc.code, param=exc.param, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return _service_error_response(request, exc)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code < 500 and (refused := await refused_key(request)):
            return _service_error_response(request, refused)
        return _respond(request, exc.status_code, str(exc.detail), code=None, headers=dict(exc.headers or {}) or None)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if refused := await refused_key(request):
            return _service_error_response(request, refused)
        # OpenAI answers a malformed body with 400; the other routes keep FastAPI's 422.
        openai_route = request.url.path.startswith(OPENAI_PREFIX)
        plain = _plain_errors(exc.errors())
        path = plain[0][0] if plain else "body"
        field = path.split(".")[0] if path != "body" else None
        return _respond(
            request,
            400 if openai_route else 422,
            "; ".join(f"{where}: {reason}" for where, reason in plain),
            code=OPENAI_FIELD_CODES.get(field or "", "invalid_value") if openai_route else None,
            param=path if field else None,
            detail=exc.errors(),
        )
