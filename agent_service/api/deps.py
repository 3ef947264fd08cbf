"""Shared request dependencies."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from agent_service.services import Services


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False)


def require_api_key(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """With `api_keys` set, every request needs `Authorization: Bearer <key>`."""
    keys = services.settings.api_keys
    if not keys:
        return
    offered = credentials.credentials if credentials else ""
    if not any(secrets.compare_digest(offered, key) for key in keys):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid API key: send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
