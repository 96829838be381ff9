"""Incident declarations in progress on a chat: what a person declaring on Telegram has
given so far (level, category, what happened), until the incident is declared or the
declaration is cancelled.

Revision ID: 0013_incidents
Revises: 0012_files
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_incidents"
down_revision = "0012_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_draft",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("level", sa.String(4), nullable=False),
        sa.Column("category", sa.String(32)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id")),
    )
    op.create_index("ix_incident_draft_chat_actor", "incident_draft", ["chat_id", "actor"])


def downgrade() -> None:
    op.drop_index("ix_incident_draft_chat_actor", "incident_draft")
    op.drop_table("incident_draft")
