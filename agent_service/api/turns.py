"""The start of every chat turn, the same for each chat route."""

from __future__ import annotations

from agent_service.api.schemas import ChatRequestBase
from agent_service.chains.turn import Turn, begin_turn
from agent_service.services import Services


async def start_turn(services: Services, body: ChatRequestBase, *, chat_type: str, model_name: str) -> Turn:
    """Resolve the conversation and its history, save the user's message (in a worker thread)."""
    return await services.db.run(
        begin_turn,
        conversation_id=body.conversation_id,
        query=body.query,
        chat_type=chat_type,
        model_name=model_name,
        history=body.langchain_history(),
        history_len=body.history_len,
        request=body.model_dump(mode="json"),
    )
