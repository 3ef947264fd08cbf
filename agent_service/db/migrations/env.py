"""Alembic environment: migrations run on the connection the service hands in."""

from alembic import context
from sqlmodel import SQLModel

from agent_service.db import models  # noqa: F401  (registers the tables)
from agent_service.knowledge import models as knowledge_models  # noqa: F401

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
