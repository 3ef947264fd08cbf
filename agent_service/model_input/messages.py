"""Plain conversation: the prompt template, the history, the model's answer."""

from __future__ import annotations

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.prompts import StringPromptTemplate

from agent_service.memory import fit_history, history_budget

_SPEAKERS = {"human": "Human", "ai": "AI"}


def history_as_text(history: list[BaseMessage]) -> str:
    return "\n".join(f"{_SPEAKERS.get(m.type, m.type)}: {m.text}" for m in history)


def build_messages(
    *,
    template: StringPromptTemplate,
    query: str,
    history: list[BaseMessage],
    context_window: int,
    max_tokens: int | None,
    system: str | None = None,
    **variables: str,
) -> list[BaseMessage]:
    """The messages for the model: [system], history trimmed (oldest first) to fit, the prompt.

    `variables` fill the template's other names (e.g. `context` for knowledge-base chat).
    """
    prompt = template.format(**_variables(template, input=query, history="", **variables))
    head = [SystemMessage(system)] if system else []
    budget = history_budget(context_window=context_window, max_tokens=max_tokens, prompt=prompt + (system or ""))
    history = fit_history(history, budget)
    if "history" in template.input_variables:
        text = history_as_text(history)
        return [*head, HumanMessage(template.format(**_variables(template, input=query, history=text, **variables)))]
    return [*head, *history, HumanMessage(prompt)]


def _variables(template: StringPromptTemplate, **values: str) -> dict[str, str]:
    return {name: values.get(name, "") for name in template.input_variables}
