"""A client's own conversation id, kept beside ours when another key already holds it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(sa.Column("client_id", sa.String(64), nullable=True))
        batch.create_index("ix_conversation_owner_client_id", ["owner", "client_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.drop_index("ix_conversation_owner_client_id")
        batch.drop_column("client_id")
