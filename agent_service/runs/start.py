"""Starting a chat turn of each kind, the same for every protocol.

Each `start_*` checks everything that can refuse the request before anything
is written, saves the user's message and the answer's row (`Database.atransact`:
never making the event loop wait), and starts the answer as a live answer
(`runs.live`) that no connection owns. `StartedAnswer.events()` is what the
connection that asked for it follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, SystemMessage
from langchain_core.runnables import Runnable

from agent_service.agents.approvals import ApprovalGate
from agent_service.agents.client_calls import ClientCalls, ClientTool
from agent_service.agents.executor import build_executor
from agent_service.agents.gates import Gates
from agent_service.agents.tool_registry import ToolRegistry
from agent_service.config import Settings
from agent_service.db.engine import Database
from agent_service.errors import (
    ConflictError,
    NotFoundError,
    ServiceError,
    ServiceUnavailableError,
    TooManyAnswersError,
)
from agent_service.knowledge.service import KnowledgeBaseService
from agent_service.llm.registry import ModelRegistry
from agent_service.memory import fit_conversation, fit_history, history_budget
from agent_service.model_input.messages import build_messages, history_as_text
from agent_service.model_input.not_covered import not_covered
from agent_service.model_input.sources import numbered_sources, prompt_context
from agent_service.prompts import PromptStore
from agent_service.protocols.chatchat.docs import chatchat_docs
from agent_service.protocols.chatchat.requests import (
    AgentChatRequest,
    ChatRequest,
    ChatRequestBase,
    KnowledgeBaseChatRequest,
)
from agent_service.runs.agent import AgentStream
from agent_service.runs.answer import AnswerStream, FixedAnswer
from agent_service.runs.live import LiveAnswer, LiveAnswers
from agent_service.runs.replay import FoundAnswer, find_answer
from agent_service.runs.turn import Caller, Turn, TurnStream, begin_turn, check_conversation_id
from agent_service.streaming.events import DocsEvent, RequiresActionEvent, StreamEvent


class TurnServices(Protocol):
    """What starting a turn uses of the running service (`services.Services` is one)."""

    settings: Settings
    db: Database
    models: ModelRegistry
    prompts: PromptStore
    tools: ToolRegistry
    knowledge: KnowledgeBaseService
    runs: LiveAnswers


@dataclass
class StartedAnswer:
    turn: Turn
    live: LiveAnswer
    on_disconnect: str  # cancel or continue
    sources: list[dict[str, Any]] = field(default_factory=list)  # knowledge-base turns
    docs: list[str] = field(default_factory=list)  # the same, as Chatchat's strings

    @property
    def ids(self) -> dict[str, str]:
        return self.turn.ids

    @property
    def after(self) -> int:
        """The last event the client has seen already: none."""
        return -1

    async def events(self) -> AsyncIterator[StreamEvent]:
        """Every event of the answer, for the connection that asked for it, to `done` or to a
        `requires_action` (the client's tools called); if that connection goes away
        before then and said `cancel`, the answer stops."""
        ended = False
        try:
            async for event in self.live.follow():
                yield event
                if isinstance(event, RequiresActionEvent):
                    break  # the client's turn: it brings the results with its next request
            ended = True
        finally:
            if not ended and self.on_disconnect == "cancel":
                self.live.stop("client_disconnected")


@dataclass
class ResumedAnswer:
    """An agent answer that waited for the results of the client's tools, going on with them:
    what the request that brought them follows."""

    runs: LiveAnswers
    answer: FoundAnswer
    after: int  # the `requires_action` event the results answer: the client saw up to there
    on_disconnect: str
    sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ids(self) -> dict[str, str]:
        return self.answer.ids

    async def events(self) -> AsyncIterator[StreamEvent]:
        """The answer's events from the first (renderers need what came before `after`), to
        `done` or to the next `requires_action`; as `StartedAnswer.events` on a disconnect."""
        ended = False
        try:
            async for event in self.answer.events(-1, earlier=True):
                yield event
                if isinstance(event, RequiresActionEvent) and event.seq > self.after:
                    break
            ended = True
        finally:
            if not ended and self.on_disconnect == "cancel":
                stopping = self.runs.stop(self.answer.message_id, "client_disconnected")
                _STOPPING.add(task := asyncio.ensure_future(stopping))
                task.add_done_callback(_STOPPING.discard)


_STOPPING: set[asyncio.Future] = set()  # stops under way, held until they end


async def resume_with_tool_results(
    services: TurnServices, *, message_id: str, results: dict[str, str], caller: Caller, on_disconnect: str
) -> ResumedAnswer:
    """Give the answer `message_id`, which waits for the client's tool results, those results;
    it goes on (on whichever replica runs it)."""
    answer = await find_answer(services.runs, services.db, message_id=message_id, owner=caller.owner)
    if answer.live is None:
        status = answer.stored.status if answer.stored else "ended"
        raise ConflictError(
            f"the answer that called these tools has ended ({status}): send the conversation again without "
            "its tool calls and results to start a new answer",
            param="messages",
        )
    paused = [event.seq for event in await answer.live.so_far() if isinstance(event, RequiresActionEvent)]
    if not paused:
        raise NotFoundError(f"message {message_id!r} waits for no tool result", param="messages")
    await services.runs.deliver(message_id, results)
    return ResumedAnswer(services.runs, answer, paused[-1], on_disconnect)


def request_model(services: TurnServices, body: ChatRequestBase, model_name: str) -> BaseChatModel:
    """The model with this request's sampling parameters."""
    return services.models.chat_model(
        model_name, temperature=body.temperature, max_tokens=body.max_tokens, top_p=body.top_p, stop=body.stop
    )


async def start_turn(
    services: TurnServices,
    body: ChatRequestBase,
    *,
    chat_type: str,
    model_name: str,
    caller: Caller,
    listed: bool = True,
    question_meta: dict[str, Any] | None = None,
) -> Turn:
    """Resolve the conversation and its history, save the user's message (with
    `question_meta`: what a protocol keeps of the request) and the answer's row."""
    if services.runs.draining:
        raise ServiceUnavailableError("the server is shutting down: try again in a moment")
    limit = services.settings.max_live_answers_per_caller
    outlives_client = (body.on_disconnect or services.settings.on_disconnect) == "continue"
    if outlives_client and services.runs.live_for(caller.key) >= limit:
        # Each answer that goes on after its client left holds a model call; unbounded, they pile up.
        raise TooManyAnswersError(
            f"{limit} answers of yours that go on after their client leaves are still being generated: "
            "wait for one to end, or stop one (POST /chat/messages/{id}/stop)"
        )
    check_conversation_id(body.conversation_id)
    turn = await services.db.atransact(
        begin_turn,
        conversation_id=body.conversation_id,
        query=body.query,
        chat_type=chat_type,
        model_name=model_name,
        history=body.langchain_history(),
        history_len=body.history_len,
        request=body.model_dump(mode="json", exclude_none=True),
        owner=caller.owner,
        replica=services.runs.replica,
        listed=listed,
        question_meta=question_meta,
    )
    turn.caller = caller.key
    return turn


def _run(services: TurnServices, body: ChatRequestBase, turn: Turn, stream: TurnStream, **extra: Any) -> StartedAnswer:
    on_disconnect = body.on_disconnect or services.settings.on_disconnect
    run = StartedAnswer(turn, services.runs.start(turn, stream), on_disconnect=on_disconnect, **extra)
    run.live.outlives_client = on_disconnect == "continue"  # counted against the caller's cap
    return run


async def start_llm_chat(services: TurnServices, body: ChatRequest, *, caller: Caller) -> StartedAnswer:
    model_name = services.models.resolve(body.model_name)
    template = services.prompts.get(body.prompt_kind, body.prompt_name)
    model_config = services.models.config(model_name)
    model = request_model(services, body, model_name)

    turn = await start_turn(services, body, chat_type="llm_chat", model_name=model_name, caller=caller)
    messages = build_messages(
        template=template,
        query=body.query,
        history=turn.history,
        context_window=model_config.context_window,
        max_tokens=body.max_tokens,
        system=body.system,
    )
    return _run(services, body, turn, AnswerStream(turn=turn, model=model, messages=messages))


async def start_completion(
    services: TurnServices,
    body: ChatRequest,
    *,
    caller: Caller,
    messages_for: Callable[[list[BaseMessage]], list[BaseMessage]],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    listed: bool = True,
    question_meta: dict[str, Any] | None = None,
) -> StartedAnswer:
    """A plain chat whose messages the client gives as they are (OpenAI's chat completions):
    `messages_for` makes them from the stored history; all of them are trimmed to fit the
    model's context window, oldest turns first (`memory.fit_conversation`); the client's `tools`
    and the `options` (tool choice, response format, sampling) go to the model, and the tool
    calls it makes come back for the client to run."""
    model_name = services.models.resolve(body.model_name)
    model_config = services.models.config(model_name)
    model: Runnable = request_model(services, body, model_name)
    options = dict(options)
    if tools:
        choice = {"tool_choice": options.pop("tool_choice")} if "tool_choice" in options else {}
        model = model.bind_tools(tools, **choice)  # type: ignore[attr-defined]
    if options:
        model = model.bind(**options)

    turn = await start_turn(
        services,
        body,
        chat_type="llm_chat",
        model_name=model_name,
        caller=caller,
        listed=listed,
        question_meta=question_meta,
    )
    budget = history_budget(context_window=model_config.context_window, max_tokens=body.max_tokens, prompt="")
    messages = fit_conversation(messages_for(turn.history), budget)
    return _run(services, body, turn, AnswerStream(turn=turn, model=model, messages=messages))


async def start_agent_chat(
    services: TurnServices,
    body: AgentChatRequest,
    *,
    caller: Caller,
    listed: bool = True,
    question_meta: dict[str, Any] | None = None,
    client_tools: list[dict[str, Any]] | None = None,
) -> StartedAnswer:
    """An agent turn over the service's tools (`body.tools`: all when absent) and the client's
    own function tools (`client_tools`, OpenAI's shape): the client runs those
    (`agents.client_calls`)."""
    settings = services.settings
    model_name = services.models.resolve(body.model_name)
    model_config = services.models.config(model_name)
    react_prompt = services.prompts.get(body.prompt_kind, body.prompt_name)
    if services.tools.mcp is not None:
        await services.tools.mcp.started()  # the MCP servers' first connection, at start-up
    tools = await services.tools.aselect(body.tools)
    functions = [tool["function"] for tool in client_tools or []]
    if clash := {tool.name for tool in tools} & {function["name"] for function in functions}:
        raise ServiceError(
            f"the client's tool {sorted(clash)[0]!r} has the name of one of the service's tools: rename it",
            code="invalid_value",
            param="tools",
        )
    model = request_model(services, body, model_name)
    style = model_config.effective_agent_style(model_name)

    turn = await start_turn(
        services,
        body,
        chat_type="agent_chat",
        model_name=model_name,
        caller=caller,
        listed=listed,
        question_meta=question_meta,
    )
    budget = (
        history_budget(context_window=model_config.context_window, max_tokens=body.max_tokens, prompt=body.query) // 2
    )  # the other half is for tool descriptions and the agent's own steps
    history = ([SystemMessage(body.system)] if body.system else []) + fit_history(turn.history, budget)
    gates = Gates()
    approvals = ApprovalGate(settings.tool_approval_timeout, gates)
    names = frozenset(function["name"] for function in functions)
    calls = ClientCalls(settings.client_tool_timeout, names, gates) if names else None
    executor = build_executor(
        style=style,
        model=model,
        tools=tools,
        react_prompt=react_prompt,
        max_iterations=settings.agent_max_iterations,
        tool_timeout=settings.tool_timeout,
        approval=approvals,
        needs_approval=services.tools.needs_approval,
        client_tools=[ClientTool.of(f, calls=calls, message_id=turn.message_id) for f in functions] if calls else (),
    )
    inputs = {"input": body.query, "history": history_as_text(history) if style == "react" else history}
    return _run(
        services,
        body,
        turn,
        AgentStream(
            turn=turn,
            executor=executor,
            inputs=inputs,
            agent_style=style,
            approvals=approvals,
            client_calls=calls,
            time_limit=settings.agent_max_execution_time,
        ),
    )


async def start_knowledge_base_chat(
    services: TurnServices,
    body: KnowledgeBaseChatRequest,
    *,
    caller: Caller,
    base_url: str,
    listed: bool = True,
    question_meta: dict[str, Any] | None = None,
) -> StartedAnswer:
    """Stream: metadata, docs (the sources), token..., done. With no source found, the answer
    says that the documents do not cover the question, and no model is asked."""
    model_name = services.models.resolve(body.model_name)
    model_config = services.models.config(model_name)
    template = services.prompts.get(body.prompt_kind, body.prompt_name)
    model = request_model(services, body, model_name)
    hits = await services.knowledge.asearch(
        name=body.knowledge_base_name, query=body.query, top_k=body.top_k, score_threshold=body.score_threshold
    )

    turn = await start_turn(
        services,
        body,
        chat_type="knowledge_base_chat",
        model_name=model_name,
        caller=caller,
        listed=listed,
        question_meta=question_meta,
    )
    found = numbered_sources(hits, kb=body.knowledge_base_name, base_url=base_url)
    first_events = [DocsEvent(**turn.ids, sources=found)]
    extra_meta = {"sources": found, "knowledge_base": body.knowledge_base_name}
    if not hits:
        answer: TurnStream = FixedAnswer(
            turn=turn, text=not_covered(body.query), first_events=first_events, extra_meta=extra_meta
        )
    else:
        messages = build_messages(
            template=template,
            query=body.query,
            history=turn.history,
            context_window=model_config.context_window,
            max_tokens=body.max_tokens,
            system=body.system,
            context=prompt_context(hits),
        )
        answer = AnswerStream(
            turn=turn, model=model, messages=messages, first_events=first_events, extra_meta=extra_meta
        )
    docs = chatchat_docs(hits, kb=body.knowledge_base_name, base_url=base_url)
    return _run(services, body, turn, answer, sources=found, docs=docs)
