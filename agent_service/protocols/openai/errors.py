"""OpenAI's error shape, which the `/v1/...` routes answer with exactly:
`{"error": {"message", "type", "param", "code"}}`."""

from __future__ import annotations

# A malformed field of an OpenAI-route body names its error code.
OPENAI_FIELD_CODES = {
    "model": "invalid_model",
    "messages": "invalid_messages",
    "chat_mode": "invalid_chat_mode",
    "chat_param": "invalid_chat_param",
}


def openai_error(status_code: int, message: str, *, code: str | None = None, param: str | None = None) -> dict:
    kind = "invalid_request_error" if status_code < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
