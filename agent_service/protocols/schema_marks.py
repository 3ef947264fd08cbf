"""Marks a request model puts on a string field whose values the running service knows
and the code does not (a configured model, a prompt file, a loaded tool): the served
OpenAPI schema (`api.openapi`) turns each into an `enum` or a `pattern` of the set's
members. Here, below the protocols' request models and the API, so both can use them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

# The marks; none reaches a client.
CHOICES = "x-choices"  # a string that is one of the set: an `enum`
NAMES = "x-names-of"  # names of the set, each with spaces around or blank, split at SEPARATOR if set: a `pattern`
SEPARATOR = "x-separator"
PROMPTS = "prompts/"  # a set named "prompts/<chat kind>": the templates in that folder


def one_of(choices: str) -> Any:
    """For `Annotated[str, one_of("models")]`: the schema lists the set's members."""
    return Field(json_schema_extra={CHOICES: choices})
