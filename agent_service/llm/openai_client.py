"""The openai SDK resources given to langchain-openai, answering with the plain
dicts the JSON arrived as.

langchain-openai turns every typed response straight back into a dict
(`model_dump`) and accepts dicts as they are. Building those pydantic objects
was over a third of the CPU time of a streamed answer (one object per token),
and 97 ms per batch of 64 embeddings of 1,024 floats from a server that sends
floats. The SDK still does the HTTP, the auth, the SSE decoding and the
error mapping.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import openai
from openai._base_client import make_request_options


def _options(params: dict[str, Any]) -> Any:
    """The SDK's request options, taken out of a call's keyword arguments."""
    return make_request_options(
        extra_headers=params.pop("extra_headers", None),
        extra_query=params.pop("extra_query", None),
        extra_body=params.pop("extra_body", None),
        timeout=params.pop("timeout", openai.NOT_GIVEN),
        security={"bearer_auth": True},
    )


class DictStreamCompletions:
    """`AsyncOpenAI(...).chat.completions`, streaming dicts, with the token limit under
    the field the server reads (langchain-openai always says max_completion_tokens);
    everything else is the SDK's."""

    def __init__(self, client: openai.AsyncOpenAI, *, max_tokens_field: str = "max_completion_tokens") -> None:
        self._client = client
        self._typed = client.chat.completions
        self._max_tokens_field = max_tokens_field

    def __getattr__(self, name: str) -> Any:
        return getattr(self._typed, name)  # with_raw_response, parse, ...

    async def create(self, **params: Any) -> Any:
        if self._max_tokens_field == "max_tokens" and "max_completion_tokens" in params:
            params["max_tokens"] = params.pop("max_completion_tokens")
        if not params.get("stream"):
            return await self._typed.create(**params)
        options = _options(params)
        return await self._client.post(
            "/chat/completions",
            body=params,
            options=options,
            cast_to=object,
            stream=True,
            stream_cls=openai.AsyncStream[object],
        )


def _embeddings_body(params: dict[str, Any]) -> dict[str, Any]:
    # Base64, as the SDK asks by default: a quarter of the bytes of JSON floats.
    return {"encoding_format": "base64", **{key: value for key, value in params.items() if value is not None}}


def _decoded(response: dict[str, Any]) -> dict[str, Any]:
    """Base64 vectors as lists of floats (a server may also have sent the floats)."""
    for item in response["data"]:
        if isinstance(item["embedding"], str):
            item["embedding"] = np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4").tolist()
    return response


class DictEmbeddings:
    """`OpenAI(...).embeddings`, answering with dicts."""

    def __init__(self, client: openai.OpenAI) -> None:
        self._client = client

    def create(self, **params: Any) -> dict[str, Any]:
        options = _options(params)
        body = _embeddings_body(params)
        return _decoded(self._client.post("/embeddings", body=body, options=options, cast_to=object))


class AsyncDictEmbeddings:
    """`AsyncOpenAI(...).embeddings`, answering with dicts."""

    def __init__(self, client: openai.AsyncOpenAI) -> None:
        self._client = client

    async def create(self, **params: Any) -> dict[str, Any]:
        options = _options(params)
        body = _embeddings_body(params)
        return _decoded(await self._client.post("/embeddings", body=body, options=options, cast_to=object))
