"""A tool call that waited for a person keeps the decision: what, why, by whom, when.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tool_call") as batch:
        batch.add_column(sa.Column("approval", sa.String(16), nullable=True))
        batch.add_column(sa.Column("approval_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("approval_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("approval_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tool_call") as batch:
        for column in ("approval_at", "approval_by", "approval_reason", "approval"):
            batch.drop_column(column)
