"""Conversation memory: the stored history as LangChain messages, and the rules
that pick and trim the history sent to a model."""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately
from sqlmodel import Session

from agent_service.db import crud

_FROM_ROLE = {"user": HumanMessage, "human": HumanMessage, "assistant": AIMessage, "ai": AIMessage}


def to_langchain(role: str, content: str) -> BaseMessage:
    return _FROM_ROLE.get(role, SystemMessage)(content=content)


class DatabaseChatMessageHistory:
    """The stored messages of one conversation, as LangChain messages (the query is `crud.last_turns`)."""

    def __init__(self, *, session: Session, conversation_id: str) -> None:
        self.session = session
        self.conversation_id = conversation_id

    def last_turns(self, turns: int) -> list[BaseMessage]:
        """The last `turns` question/answer pairs, oldest first, starting on a question."""
        rows = crud.last_turns(session=self.session, conversation_id=self.conversation_id, turns=turns)
        return [to_langchain(role, content) for role, content in rows]


def fit_history(history: list[BaseMessage], budget_tokens: int) -> list[BaseMessage]:
    """Drop the oldest messages until the history fits in `budget_tokens`."""
    if not history:
        return []
    if budget_tokens <= 0:
        return []
    return trim_messages(
        history,
        max_tokens=budget_tokens,
        token_counter=count_tokens_approximately,
        strategy="last",
        start_on="human",
        allow_partial=False,
    )


def fit_conversation(messages: list[BaseMessage], budget_tokens: int) -> list[BaseMessage]:
    """A client's whole conversation trimmed to fit `budget_tokens`: the system messages and
    everything from the last question on are kept; earlier turns go, oldest first, whole (a
    tool result never loses the call it answers)."""
    system = [m for m in messages if isinstance(m, SystemMessage)]
    rest = [m for m in messages if not isinstance(m, SystemMessage)]
    last_question = max((i for i, m in enumerate(rest) if isinstance(m, HumanMessage)), default=0)
    tail = rest[last_question:]
    room = budget_tokens - count_tokens_approximately([*system, *tail])
    return [*system, *fit_history(rest[:last_question], room), *tail]


def history_budget(*, context_window: int, max_tokens: int | None, prompt: str) -> int:
    """Tokens left for history once the prompt and the answer have their share."""
    answer_share = max_tokens if max_tokens else context_window // 4
    return context_window - answer_share - count_tokens_approximately([HumanMessage(prompt)])
