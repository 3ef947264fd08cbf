"""A chat turn's writes: all of them, or none."""

from __future__ import annotations

import pytest
from sqlmodel import select

from agent_service.db import crud
from agent_service.db.engine import Database
from agent_service.db.models import Message
from agent_service.errors import NotFoundError


def test_a_conversation_deleted_after_it_was_read_gets_no_message(database: Database):
    conversation = database.transact(crud.create_conversation, title="soon gone")
    found = database.transact(crud.find_conversation, conversation_id=conversation.id)
    database.transact(crud.delete_conversation, conversation_id=conversation.id)  # meanwhile, another request

    with pytest.raises(NotFoundError, match=conversation.id):
        database.transact(crud.add_turn_rows, conversation_id=conversation.id, content="hi", meta={}, title=found.title)

    with database.session() as session:
        assert session.exec(select(Message)).all() == []


def test_a_new_conversation_takes_its_title_from_the_first_message(database: Database):
    conversation_id, message_id = database.transact(
        crud.add_turn_rows, conversation_id=None, content="  How do   pumps work?  ", meta={"request": {}}
    )

    [listed], total = database.transact_read(crud.list_conversations, limit=10, offset=0)
    assert (total, listed.id, listed.title) == (1, conversation_id, "How do pumps work?")
    [message] = database.transact_read(crud.list_messages, conversation_id=conversation_id)
    assert (message.id, message.role, message.content, message.status) == (
        message_id,
        "user",
        "  How do   pumps work?  ",
        "complete",
    )
