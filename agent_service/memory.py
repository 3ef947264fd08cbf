"""Conversation memory: a LangChain chat-message history over the Message table,
and the rules that pick and trim the history sent to a model."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately
from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, select

from agent_service.db.models import Message, ToolCall

# History reads only the two columns it needs, with Core statements built
# once: no metadata JSON decoded, no row objects (this runs for every turn).
_messages = Message.__table__
_HISTORY = select(_messages.c.role, _messages.c.content).where(
    _messages.c.conversation_id == bindparam("conversation_id"),
    _messages.c.role.in_(("user", "assistant")),
    _messages.c.content != "",
    _messages.c.status.not_in(("streaming", "requires_action")),  # answers still being written
)
_ALL = _HISTORY.order_by(_messages.c.seq)
_LATEST = _HISTORY.order_by(_messages.c.seq.desc()).limit(bindparam("limit"))

_FROM_ROLE = {"user": HumanMessage, "human": HumanMessage, "assistant": AIMessage, "ai": AIMessage}
_TO_ROLE = {"human": "user", "ai": "assistant", "system": "system"}


def to_langchain(role: str, content: str) -> BaseMessage:
    return _FROM_ROLE.get(role, SystemMessage)(content=content)


class DatabaseChatMessageHistory(BaseChatMessageHistory):
    """The messages of one conversation, read from and written to the database.

    Only messages with text count as history: an answer that failed before
    its first token has nothing for the model to read.
    """

    def __init__(self, *, session: Session, conversation_id: str) -> None:
        self.session = session
        self.conversation_id = conversation_id

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        rows = self.session.connection().execute(_ALL, {"conversation_id": self.conversation_id})
        return [to_langchain(role, content) for role, content in rows]

    def last_turns(self, turns: int) -> list[BaseMessage]:
        """The last `turns` question/answer pairs, oldest first, starting on a question."""
        if turns <= 0:
            return []
        params = {"conversation_id": self.conversation_id, "limit": 2 * turns}
        rows = list(self.session.connection().execute(_LATEST, params))
        rows.reverse()
        while rows and rows[0].role != "user":
            rows.pop(0)
        return [to_langchain(role, content) for role, content in rows]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        for message in messages:
            role = _TO_ROLE.get(message.type, message.type)
            self.session.add(Message(conversation_id=self.conversation_id, role=role, content=message.text))
        self.session.commit()

    def clear(self) -> None:
        ids = select(Message.id).where(Message.conversation_id == self.conversation_id)
        self.session.exec(delete(ToolCall).where(col(ToolCall.message_id).in_(ids)))
        self.session.exec(delete(Message).where(col(Message.conversation_id) == self.conversation_id))
        self.session.commit()


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


def history_budget(*, context_window: int, max_tokens: int | None, prompt: str) -> int:
    """Tokens left for history once the prompt and the answer have their share."""
    answer_share = max_tokens if max_tokens else context_window // 4
    return context_window - answer_share - count_tokens_approximately([HumanMessage(prompt)])
