"""Chatchat's error shape, on every route outside `/v1/`: FastAPI's `detail` plus Chatchat's
`code` and `msg`, which its clients show to the user."""

from __future__ import annotations


def error_body(status_code: int, message: str, **extra: object) -> dict[str, object]:
    return {"detail": message, "code": status_code, "msg": message, **extra}
