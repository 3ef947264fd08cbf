"""The long-lived parts of a running service, built once from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agent_service.agents.knowledge_tool import NAME, knowledge_search_tool
from agent_service.agents.tool_modules import ToolContext
from agent_service.agents.tool_registry import ToolRegistry
from agent_service.config import Settings
from agent_service.db import answers, secrets
from agent_service.db.engine import Database, create_db_engine, migrate
from agent_service.db.secrets import key_fingerprint, unkeyed_fingerprint
from agent_service.knowledge.service import KnowledgeBaseService
from agent_service.llm.registry import ModelRegistry
from agent_service.mcp.tools import McpTools
from agent_service.prompts import PromptStore
from agent_service.runs.live import LiveAnswers, LocalAnswers
from agent_service.runs.redis_answers import RedisAnswers

logger = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    models: ModelRegistry
    prompts: PromptStore
    tools: ToolRegistry
    knowledge: KnowledgeBaseService
    runs: LiveAnswers  # in this process (LocalAnswers), or across replicas (RedisAnswers)
    key_secret: bytes = b""  # keys the API-key fingerprints (db.secrets)

    @classmethod
    def start(cls, settings: Settings) -> Services:
        """Open the database and migrate it, end the answers a dead process left
        streaming, load the tools; models load later, on first use."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        assert settings.database_url is not None  # filled in by Settings
        engine = create_db_engine(settings.database_url)
        migrate(engine)
        db = Database(engine)
        runs: LiveAnswers
        if settings.redis_url:  # replicas: a survivor ends a dead one's answers (RedisAnswers)
            runs = RedisAnswers(db, settings.redis_url, replica_timeout=settings.replica_timeout)
        else:
            runs = LocalAnswers(db)
            if orphaned := db.transact(answers.interrupt_orphaned):
                logger.warning("answers left streaming by the last run are marked interrupted: %s", ", ".join(orphaned))
        key_secret = db.transact(secrets.service_secret)
        renames = {unkeyed_fingerprint(key): key_fingerprint(key, key_secret) for key in settings.api_keys}
        if renames and (renamed := db.transact(secrets.rename_owners, renames=renames)):
            logger.info("%d conversations moved to their key's keyed fingerprint", renamed)
        knowledge = KnowledgeBaseService(settings, db)
        if interrupted := knowledge.fail_interrupted_files():
            logger.warning("files left half-indexed by the last run are marked failed: %s", ", ".join(interrupted))
        return cls(
            settings=settings,
            db=db,
            models=ModelRegistry(settings),
            prompts=PromptStore(settings.prompts_dir),
            tools=ToolRegistry.load(
                settings.tools_dir,
                ToolContext(settings=settings, database=db),
                {NAME: lambda: knowledge_search_tool(knowledge)},
                requiring_approval=settings.tools_requiring_approval,
                mcp=McpTools(settings.mcp_servers, default_timeout=settings.tool_timeout),
                isolated_timeout=settings.tool_timeout,
            ),
            knowledge=knowledge,
            runs=runs,
            key_secret=key_secret,
        )

    def close(self) -> None:
        self.models.local_worker.close()
        self.knowledge.close()
        self.db.dispose()
