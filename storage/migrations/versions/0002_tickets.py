"""Tickets, their thread and their audit trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(20), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("chat_user.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(64)),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("order_no", sa.String(64)),
        sa.Column("merchant_name", sa.String(128)),
        sa.Column("contact_phone", sa.String(32)),
        sa.Column("opened_at", _ts(), nullable=False),
        sa.Column("first_response_at", _ts()),
        sa.Column("resolved_at", _ts()),
        sa.Column("closed_at", _ts()),
    )
    op.create_index("ix_ticket_user_id", "ticket", ["user_id"])
    op.create_table(
        "ticket_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("ticket.id"), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("field", sa.String(32)),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
        sa.Column("at", _ts(), nullable=False),
    )
    op.create_index("ix_ticket_audit_ticket_id", "ticket_audit", ["ticket_id"])
    op.create_table(
        "ticket_entry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("ticket.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", _ts(), nullable=False),
    )
    op.create_index("ix_ticket_entry_ticket_id", "ticket_entry", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("ticket_entry")
    op.drop_table("ticket_audit")
    op.drop_table("ticket")
