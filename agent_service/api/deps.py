"""Shared request dependencies.

The ones that do no I/O are `async def`: FastAPI runs a plain `def`
dependency in a worker thread, a hop per dependency per request that under
load waits for the GIL behind every busy stream.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent_service.errors import AuthenticationError
from agent_service.services import Services


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


_bearer = HTTPBearer(auto_error=False)


def key_fingerprint(key: str) -> str:
    """What the database keeps of a key: enough to tell keys apart, never the key."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:32]


async def authenticate(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """The caller's owner id: its key's fingerprint, or None when auth is off.

    With `api_keys` set, every request needs `Authorization: Bearer <key>`;
    keys are compared in constant time, each one, so timing tells nothing.
    """
    keys = services.settings.api_keys
    if not keys:
        return None
    offered = credentials.credentials if credentials else ""
    matches = [secrets.compare_digest(offered.encode(), key.encode()) for key in keys]
    if not any(matches):
        reason = "invalid API key" if offered else "missing API key"
        raise AuthenticationError(f"{reason}: send the header Authorization: Bearer <key>")
    return key_fingerprint(offered)


# The caller's owner id (None: auth off, every conversation is visible).
OwnerDep = Annotated[str | None, Depends(authenticate)]
