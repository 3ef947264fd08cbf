"""An answer keeps its events and its last event number, checkpointed while it streams.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("events", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("last_seq", sa.Integer(), nullable=True))
        batch.create_index("ix_message_status", ["status"])


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_index("ix_message_status")
        batch.drop_column("last_seq")
        batch.drop_column("events")
