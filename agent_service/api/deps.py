"""Shared request dependencies.

The ones that do no I/O are `async def`: FastAPI runs a plain `def`
dependency in a worker thread, a hop per dependency per request that under
load waits for the GIL behind every busy stream.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent_service.db.secrets import key_fingerprint
from agent_service.errors import AuthenticationError
from agent_service.runs.turn import Caller
from agent_service.services import Services


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


_bearer = HTTPBearer(auto_error=False)


async def authenticate(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """The caller's owner id: its key's fingerprint, or None when auth is off.

    With `api_keys` set, every request needs `Authorization: Bearer <key>`;
    keys are compared in constant time, each one, so timing tells nothing.
    """
    return check_key(services.settings.api_keys, credentials.credentials if credentials else "", services.key_secret)


def check_key(keys: list[str], offered: str, secret: bytes) -> str | None:
    """The owner id of the `offered` key; AuthenticationError if keys are set and it is none of them."""
    if not keys:
        return None
    matches = [secrets.compare_digest(offered.encode(), key.encode()) for key in keys]
    if not any(matches):
        reason = "invalid API key" if offered else "missing API key"
        raise AuthenticationError(f"{reason}: send the header Authorization: Bearer <key>")
    return key_fingerprint(offered, secret)


async def refused_key(request: Request) -> AuthenticationError | None:
    """For a request refused before its dependencies ran (a body that does not parse):
    the AuthenticationError its route would have answered, if it needs a key it lacks.
    Without a valid key a caller learns nothing about a route, not even how it reads bodies."""
    if not _needs_key(request):
        return None
    credentials = await _bearer(request)
    try:
        services = request.app.state.services
        check_key(services.settings.api_keys, credentials.credentials if credentials else "", services.key_secret)
    except AuthenticationError as exc:
        return exc
    return None


def _path_pattern(template: str) -> re.Pattern[str]:
    """`/conversations/{id}` -> a pattern that matches `/conversations/<anything>`."""
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join(".+" if part.startswith("{") else re.escape(part) for part in parts) + "$")


def _needs_key(request: Request) -> bool:
    """Whether the app's OpenAPI schema gives the request's route a security requirement."""
    state = request.app.state
    if not hasattr(state, "secured_operations"):
        state.secured_operations = [
            (method.upper(), _path_pattern(path))
            for path, operations in request.app.openapi()["paths"].items()
            for method, operation in operations.items()
            if operation.get("security")
        ]
    return any(
        method == request.method and pattern.match(request.url.path) for method, pattern in state.secured_operations
    )


# The caller's owner id (None: auth off, every conversation is visible).
OwnerDep = Annotated[str | None, Depends(authenticate)]


def identify_caller(request: Request, owner: OwnerDep) -> Caller:
    return Caller(owner=owner, address=request.client.host if request.client else "")


# Who is asking: their key, or with keys off their address (the unit of per-caller caps).
CallerDep = Annotated[Caller, Depends(identify_caller)]
