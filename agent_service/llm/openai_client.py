"""The chat-completions client given to `ChatOpenAI`: the openai SDK's own,
except that a stream yields each chunk as the plain dict it arrived as.

langchain-openai turns every typed chunk straight back into a dict
(`model_dump`) and accepts dict chunks as they are. Building and dumping a
pydantic object per token, and transforming the request's parameters, was
over a third of the service's CPU time per streamed answer; the SDK still
does the HTTP, the auth, the SSE decoding and the error mapping.
"""

from __future__ import annotations

from typing import Any

import openai
from openai._base_client import make_request_options


class DictStreamCompletions:
    """`AsyncOpenAI(...).chat.completions`, streaming dicts; everything else is the SDK's."""

    def __init__(self, client: openai.AsyncOpenAI) -> None:
        self._client = client
        self._typed = client.chat.completions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._typed, name)  # with_raw_response, parse, ...

    async def create(self, **params: Any) -> Any:
        if not params.get("stream"):
            return await self._typed.create(**params)
        options = make_request_options(
            extra_headers=params.pop("extra_headers", None),
            extra_query=params.pop("extra_query", None),
            extra_body=params.pop("extra_body", None),
            timeout=params.pop("timeout", openai.NOT_GIVEN),
            security={"bearer_auth": True},
        )
        return await self._client.post(
            "/chat/completions",
            body=params,
            options=options,
            cast_to=object,
            stream=True,
            stream_cls=openai.AsyncStream[object],
        )
