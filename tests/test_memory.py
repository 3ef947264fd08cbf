"""The conversation history over the messages table, and its trimming."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage
from sqlmodel import Session

from agent_service.db import crud
from agent_service.db.engine import create_db_engine, migrate
from agent_service.memory import DatabaseChatMessageHistory, fit_history


def test_history_reads_back_what_was_stored_and_the_last_turns(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'memory.db'}")
    migrate(engine)
    with Session(engine) as session:
        conversation = crud.create_conversation(session=session, title="t")
        history = DatabaseChatMessageHistory(session=session, conversation_id=conversation.id)
        history.add_messages(
            [HumanMessage("one"), AIMessage("first"), HumanMessage("two"), AIMessage(""), HumanMessage("three")]
        )
        history.add_messages([AIMessage("third")])

        assert [(m.type, m.text) for m in history.messages] == [
            ("human", "one"),
            ("ai", "first"),
            ("human", "two"),  # the empty answer is no history
            ("human", "three"),
            ("ai", "third"),
        ]
        assert [m.text for m in history.last_turns(1)] == ["three", "third"]
        assert [m.text for m in history.last_turns(2)] == ["two", "three", "third"]  # starts on a question

        history.clear()
        assert history.messages == []


def test_fit_history_drops_the_oldest_first():
    history = [HumanMessage("old " * 200), AIMessage("old answer " * 100), HumanMessage("new"), AIMessage("newer")]

    assert [m.text for m in fit_history(history, 50)] == ["new", "newer"]
    assert fit_history(history, 0) == []
    assert fit_history(history, 100_000) == history
