"""Conversation ids up to 64 characters: clients (Chatchat's web UI) choose their own.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.alter_column("conversation_id", type_=sa.String(64), existing_type=sa.String(32), existing_nullable=False)
    with op.batch_alter_table("conversation") as batch:
        batch.alter_column("id", type_=sa.String(64), existing_type=sa.String(32), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.alter_column("id", type_=sa.String(32), existing_type=sa.String(64), existing_nullable=False)
    with op.batch_alter_table("message") as batch:
        batch.alter_column("conversation_id", type_=sa.String(32), existing_type=sa.String(64), existing_nullable=False)
