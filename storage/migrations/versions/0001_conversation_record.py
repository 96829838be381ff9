"""The conversation record: users, messages, feedback, hand-offs.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chat_user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("sender", sa.String(80), nullable=False, unique=True),
        sa.Column("role", sa.String(16)),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("first_seen", _ts(), nullable=False),
        sa.Column("last_seen", _ts(), nullable=False),
    )
    op.create_table(
        "message",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("chat_user.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("choices", sa.Text, nullable=False),
        sa.Column("external_id", sa.String(128)),
        sa.Column("reply_to_id", sa.Integer, sa.ForeignKey("message.id")),
        sa.Column("kb_entry_id", sa.String(80)),
        sa.Column("score", sa.Float),
        sa.Column("sent", sa.Integer, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.UniqueConstraint("channel", "external_id", name="uq_message_channel_external"),
    )
    op.create_index("ix_message_user_created", "message", ["user_id", "created_at"])
    op.create_index("ix_message_reply_to_id", "message", ["reply_to_id"])
    op.create_table(
        "answer_feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("chat_user.id"), nullable=False),
        sa.Column("kb_entry_id", sa.String(80), nullable=False),
        sa.Column("helpful", sa.Integer, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
    )
    op.create_table(
        "handoff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("chat_user.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("last_question", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("handoff")
    op.drop_table("answer_feedback")
    op.drop_index("ix_message_reply_to_id", "message")
    op.drop_index("ix_message_user_created", "message")
    op.drop_table("message")
    op.drop_table("chat_user")
