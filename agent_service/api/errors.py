"""Error responses: a status, and a message that says what is wrong.

Bodies carry FastAPI's `detail` plus Chatchat's `code` and `msg`, which its
clients show to the user.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from agent_service.errors import ServiceError


def error_body(status_code: int, message: str, **extra: object) -> dict[str, object]:
    return {"detail": message, "code": status_code, "msg": message, **extra}


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def validation_message(exc: RequestValidationError) -> str:
    return "; ".join(f"{_location(err['loc'])}: {err['msg']}" for err in exc.errors())


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(error_body(exc.status_code, str(exc)), status_code=exc.status_code)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        message = validation_message(exc)
        body = {"detail": exc.errors(), "code": 422, "msg": message}
        return JSONResponse(_jsonable(body), status_code=422)


def _jsonable(value: object) -> object:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value, custom_encoder={Exception: str})
