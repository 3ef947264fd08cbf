"""Token usage for models that report none: approximated, and marked so."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately


def estimate_answer_tokens(answer: str) -> int:
    """The approximate token count of a model's answer."""
    return count_tokens_approximately([AIMessage(answer)], extra_tokens_per_message=0)


def estimate_usage(prompt: list[BaseMessage], answer: str) -> dict[str, Any]:
    """Token counts of a prompt and its answer, approximated (`estimated: true`)."""
    input_tokens = count_tokens_approximately(prompt)
    output_tokens = estimate_answer_tokens(answer)
    total = input_tokens + output_tokens
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": total, "estimated": True}
