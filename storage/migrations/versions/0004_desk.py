"""The agents' desk: SLA clocks, their notification ledger, the outbox, console sessions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("source", sa.String(160)))
        batch.add_column(sa.Column("card_chat_id", sa.BigInteger))
        batch.add_column(sa.Column("card_message_id", sa.BigInteger))
        batch.add_column(sa.Column("csat_score", sa.Integer))
        batch.add_column(sa.Column("csat_comment", sa.Text))
        batch.add_column(sa.Column("updated_at", _ts()))
        batch.create_unique_constraint("uq_ticket_source", ["source"])
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("token_hash", sa.String(64)))
        batch.create_unique_constraint("uq_agent_token_hash", ["token_hash"])
    op.create_table(
        "console_session",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "agent_id", sa.Integer, sa.ForeignKey("agent.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("expires_at", _ts(), nullable=False),
    )
    op.create_table(
        "ticket_clock",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("ticket.id"), nullable=False),
        sa.Column("clock", sa.String(16), nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("within_s", sa.Integer, nullable=False),
        sa.Column("pauses", sa.Text, nullable=False),
        sa.Column("paused_since", _ts()),
        sa.Column("warn_at", _ts(), nullable=False),
        sa.Column("due_at", _ts(), nullable=False),
        sa.Column("warned", sa.Integer, nullable=False),
        sa.Column("breached", sa.Integer, nullable=False),
        sa.Column("stopped_at", _ts()),
        sa.Column("result", sa.String(8)),
        sa.Column("used_s", sa.Integer),
        sa.UniqueConstraint("ticket_id", "clock", "cycle", name="uq_ticket_clock"),
    )
    op.create_index("ix_ticket_clock_ticket_id", "ticket_clock", ["ticket_id"])
    op.create_index("ix_ticket_clock_open_due", "ticket_clock", ["stopped_at", "due_at"])
    op.create_table(
        "sla_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clock_id", sa.Integer, sa.ForeignKey("ticket_clock.id"), nullable=False),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("ticket.id"), nullable=False),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.UniqueConstraint("clock_id", "stage", name="uq_sla_event"),
    )
    op.create_index("ix_sla_event_ticket_id", "sla_event", ["ticket_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(160), unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("buttons", sa.Text, nullable=False),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("ticket.id")),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("message.id")),
        sa.Column("reply_to_card", sa.Integer, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("not_before", _ts(), nullable=False),
        sa.Column("claimed_until", _ts()),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("sent_at", _ts()),
        sa.Column("tg_message_id", sa.BigInteger),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_outbox_pending", "outbox", ["sent_at", "not_before"])
    op.create_index("ix_outbox_ticket_id", "outbox", ["ticket_id"])
    op.create_index("ix_outbox_tg_message_id", "outbox", ["tg_message_id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("sla_event")
    op.drop_table("ticket_clock")
    op.drop_table("console_session")
    with op.batch_alter_table("agent") as batch:
        batch.drop_constraint("uq_agent_token_hash", type_="unique")
        batch.drop_column("token_hash")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_constraint("uq_ticket_source", type_="unique")
        for name in ("updated_at", "csat_comment", "csat_score", "card_message_id"):
            batch.drop_column(name)
        batch.drop_column("card_chat_id")
        batch.drop_column("source")
