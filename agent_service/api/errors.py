"""Error responses: a status, and a message that says what is wrong.

Two shapes. The OpenAI-compatible routes (`/v1/...`) answer exactly as
OpenAI does: `{"error": {"message", "type", "param", "code"}}`. Every other
route answers with FastAPI's `detail` plus Chatchat's `code` and `msg`,
which its clients show to the user, and carries the same `error` object.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from agent_service.api.deps import refused_key
from agent_service.errors import AuthenticationError, ServiceError

OPENAI_PREFIX = "/v1/"
# A malformed field of an OpenAI-route body names its error code.
OPENAI_FIELD_CODES = {
    "model": "invalid_model",
    "messages": "invalid_messages",
    "chat_mode": "invalid_chat_mode",
    "chat_param": "invalid_chat_param",
}


def error_body(status_code: int, message: str, **extra: object) -> dict[str, object]:
    return {"detail": message, "code": status_code, "msg": message, **extra}


def openai_error(status_code: int, message: str, *, code: str | None = None, param: str | None = None) -> dict:
    kind = "invalid_request_error" if status_code < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def _reason(err: dict) -> str:
    # A validator's own ValueError reads "Value error, <its message>": the message is what says what is wrong.
    return err["msg"].removeprefix("Value error, ")


def validation_message(exc: RequestValidationError) -> str:
    return "; ".join(f"{_location(err['loc'])}: {_reason(err)}" for err in exc.errors())


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
        return _respond(request, exc.status_code, str(exc.detail), code=None, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if refused := await refused_key(request):
            return _service_error_response(request, refused)
        # OpenAI answers a malformed body with 400; the other routes keep FastAPI's 422.
        openai_route = request.url.path.startswith(OPENAI_PREFIX)
        loc = tuple(exc.errors()[0].get("loc", ())) if exc.errors() else ()
        field = next((str(part) for part in loc if part != "body"), None)
        return _respond(
            request,
            400 if openai_route else 422,
            validation_message(exc),
            code=OPENAI_FIELD_CODES.get(field or "", "invalid_value") if openai_route else None,
            param=_location(loc) if field else None,
            detail=exc.errors(),
        )
