"""The keyword index in the database, for replicas on PostgreSQL (the embedded one is a file per base).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keyword_chunk",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kb", sa.String(100), nullable=False),
        sa.Column("chunk_id", sa.String(64), nullable=False),
        sa.Column("file", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("terms", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.UniqueConstraint("kb", "chunk_id", name="uq_keyword_chunk_kb_chunk_id"),
    )
    op.create_index("ix_keyword_chunk_kb", "keyword_chunk", ["kb"])
    op.create_index("ix_keyword_chunk_file", "keyword_chunk", ["file"])
    op.create_index("ix_keyword_chunk_terms", "keyword_chunk", ["terms"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("keyword_chunk")
