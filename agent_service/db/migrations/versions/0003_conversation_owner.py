"""Conversations belong to the API key that created them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(sa.Column("owner", sa.String(64), nullable=True))
        batch.create_index("ix_conversation_owner", ["owner"])


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.drop_index("ix_conversation_owner")
        batch.drop_column("owner")
