"""Errors the service raises on purpose; the API turns each into a 4xx.

`code` is a machine-readable name (OpenAI's `error.code`), `param` the
request field at fault, when there is one.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request the service refuses, with a message that says why."""

    status_code = 400
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code or type(self).code
        self.param = param


class AuthenticationError(ServiceError):
    status_code = 401
    code = "invalid_api_key"


class NotFoundError(ServiceError):
    status_code = 404
    code = "not_found"


class ConflictError(ServiceError):
    status_code = 409
    code = "conflict"


class UnknownModelError(ServiceError):
    status_code = 400
    code = "invalid_model"


class UnknownPromptError(ServiceError):
    status_code = 400
    code = "invalid_prompt"


class ServiceUnavailableError(ServiceError):
    status_code = 503
    code = "service_unavailable"


class TooManyAnswersError(ServiceError):
    status_code = 429
    code = "rate_limit_exceeded"
