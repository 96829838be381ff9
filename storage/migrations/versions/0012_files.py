"""Files customers attach to tickets (`ticket_file`), and the outbox's reference to a file
the channel holds already (`outbox.attachment_ref`, a Telegram file_id).

Revision ID: 0012_files
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_files"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_file",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("ticket.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("mime", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.String(80), nullable=False, unique=True),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel_file_id", sa.String(255)),
        sa.Column("source", sa.String(160), unique=True),
    )
    op.create_index("ix_ticket_file_ticket_id", "ticket_file", ["ticket_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("attachment_ref", sa.String(255)))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("attachment_ref")
    op.drop_table("ticket_file")
