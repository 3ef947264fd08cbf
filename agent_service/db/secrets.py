"""The service's own secrets, kept in the database so every replica reads the same."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from agent_service.db.models import Conversation, ServiceSecret, ToolCall

FINGERPRINT_KEY = "api_key_fingerprints"


def key_fingerprint(key: str, secret: bytes) -> str:
    """What the database keeps of an API key (a conversation's owner): enough to tell keys
    apart, never the key. Keyed (HMAC with the service's secret): a weak key cannot be
    guessed offline from a row."""
    return "key-" + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:32]


def unkeyed_fingerprint(key: str) -> str:
    """The fingerprint rows were kept under before it was keyed (renamed at start-up)."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def service_secret(*, session: Session, name: str = FINGERPRINT_KEY) -> bytes:
    """The secret called `name`, made (random, 32 bytes) the first time it is asked for."""
    if (row := session.get(ServiceSecret, name)) is None:
        session.add(ServiceSecret(name=name, value=secrets.token_hex(32)))
        try:
            session.commit()
        except IntegrityError:  # another replica made it a moment ago: theirs it is
            session.rollback()
        row = session.get(ServiceSecret, name)
    assert row is not None
    return bytes.fromhex(row.value)


def rename_owners(*, session: Session, renames: dict[str, str]) -> int:
    """Give rows kept under an old owner id (a key's former fingerprint) their new one."""
    changed = 0
    for old, new in renames.items():
        changed += session.exec(update(Conversation).where(col(Conversation.owner) == old).values(owner=new)).rowcount
        session.exec(update(ToolCall).where(col(ToolCall.approval_by) == old).values(approval_by=new))
    session.commit()
    return changed
