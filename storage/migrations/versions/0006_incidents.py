"""Incidents under the emergency plan: timeline, durable timers, reports, signals, alerts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(20), nullable=False, unique=True),
        sa.Column("level", sa.String(4), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("category", sa.String(32)),
        sa.Column("merchant", sa.String(128)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("cause", sa.Text),
        sa.Column("eta", _ts()),
        sa.Column("open_key", sa.String(160), unique=True),
        sa.Column("opened_at", _ts(), nullable=False),
        sa.Column("acknowledged_at", _ts()),
        sa.Column("acknowledged_by", sa.String(80)),
        sa.Column("mitigated_at", _ts()),
        sa.Column("resolved_at", _ts()),
        sa.Column("updated_at", _ts(), nullable=False),
    )
    op.create_table(
        "incident_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("at", _ts(), nullable=False),
    )
    op.create_index("ix_incident_event_incident_id", "incident_event", ["incident_id"])
    op.create_table(
        "incident_timer",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("target", sa.String(40)),
        sa.Column("due_at", _ts(), nullable=False),
        sa.Column("fired_at", _ts()),
        sa.Column("cancelled", sa.Integer, nullable=False),
        sa.UniqueConstraint("incident_id", "kind", "seq", name="uq_incident_timer"),
    )
    op.create_index("ix_incident_timer_incident_id", "incident_timer", ["incident_id"])
    op.create_index("ix_incident_timer_due", "incident_timer", ["fired_at", "due_at"])
    op.create_table(
        "incident_report",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("approved_by", sa.String(80)),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("sent_at", _ts()),
        sa.UniqueConstraint("incident_id", "kind", "seq", name="uq_incident_report"),
    )
    op.create_index("ix_incident_report_incident_id", "incident_report", ["incident_id"])
    op.create_table(
        "incident_signal",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("user_id", sa.Integer),
        sa.Column("at", _ts(), nullable=False),
    )
    op.create_index("ix_incident_signal_key_at", "incident_signal", ["key", "at"])
    op.create_table(
        "alert_nonce",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("signature", sa.String(64), nullable=False, unique=True),
        sa.Column("at", _ts(), nullable=False),
    )
    for table in ("ticket", "message", "outbox"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("incident_id", sa.Integer))
            batch.create_foreign_key(f"fk_{table}_incident", "incident", ["incident_id"], ["id"])
            batch.create_index(f"ix_{table}_incident_id", ["incident_id"])


def downgrade() -> None:
    for table in ("outbox", "message", "ticket"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_incident_id")
            batch.drop_constraint(f"fk_{table}_incident", type_="foreignkey")
            batch.drop_column("incident_id")
    for table in ("alert_nonce", "incident_signal", "incident_report", "incident_timer"):
        op.drop_table(table)
    op.drop_table("incident_event")
    op.drop_table("incident")
