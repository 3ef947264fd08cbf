"""The FastAPI application: the services, the routers, the error handlers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from agent_service import __version__
from agent_service.api import (
    agent,
    chat,
    chatchat_kb,
    conversations,
    health,
    kb_chat,
    knowledge_bases,
    messages,
    metrics,
    models,
    openai_chat,
    openai_responses,
    tools,
)
from agent_service.api.body_limit import BodyLimit
from agent_service.api.browser_guard import BrowserGuard
from agent_service.api.deps import authenticate
from agent_service.api.errors import install_error_handlers
from agent_service.api.middleware import RequestContext
from agent_service.api.openapi import serve_docs, serve_schema_with_choices
from agent_service.config import Settings, get_settings
from agent_service.knowledge.discover import start_indexing_bases_found_on_disk
from agent_service.long_lived import freeze_loaded_objects
from agent_service.mcp.server import PATH as MCP_PATH
from agent_service.mcp.server import McpEndpoint
from agent_service.services import Services
from agent_service.web import routes as web


def create_app(settings: Settings | None = None) -> FastAPI:
    services = Services.start(settings or get_settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # In the background: start-up stays fast while the shipped samples are indexed
        # and the remote models' clients are built (so the first chat need not wait).
        app.state.discovery = start_indexing_bases_found_on_disk(services.knowledge)
        threading.Thread(target=services.models.connect_remote_models, name="models", daemon=True).start()
        mcp = services.tools.mcp
        connecting = asyncio.create_task(mcp.connect(taken=services.tools.module_names())) if mcp else None
        await services.runs.begin()
        freeze_loaded_objects()
        async with mcp_endpoint.running():
            yield
        await services.runs.shutdown(services.settings.shutdown_grace)
        await services.runs.close()
        if connecting is not None:
            connecting.cancel()
            await mcp.close()
        await services.models.aclose()
        await services.db.aclose()
        services.close()

    # The schema and its docs are served below, behind the key like every other route.
    app = FastAPI(
        title="agent-service", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(RequestContext)
    settings = services.settings
    app.add_middleware(
        BodyLimit,
        max_body_bytes=int(settings.max_request_mb * 1024 * 1024),
        max_json_bytes=int(settings.max_json_request_mb * 1024 * 1024),
    )
    app.add_middleware(BrowserGuard, listen_host=services.settings.host, allowed_hosts=services.settings.allowed_hosts)

    protected = [Depends(authenticate)]
    app.include_router(health.router)
    app.include_router(web.router)  # the page holds no data: no key needed to load it
    app.include_router(metrics.router, dependencies=protected)
    app.include_router(models.router, dependencies=protected)
    app.include_router(chat.router, dependencies=protected)
    app.include_router(agent.router, dependencies=protected)
    app.include_router(kb_chat.router, dependencies=protected)
    app.include_router(messages.router, dependencies=protected)
    app.include_router(conversations.router, dependencies=protected)
    app.include_router(tools.router, dependencies=protected)
    app.include_router(knowledge_bases.router, dependencies=protected)
    app.include_router(chatchat_kb.router, dependencies=protected)
    app.include_router(openai_chat.router, dependencies=protected)
    app.include_router(openai_responses.router, dependencies=protected)
    mcp_endpoint = McpEndpoint(services)  # checks the key itself: an MCP client is not a browser
    app.add_route(MCP_PATH, mcp_endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False)
    serve_schema_with_choices(app, services)
    serve_docs(app, dependencies=protected)
    return app
