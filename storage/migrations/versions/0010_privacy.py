"""The privacy audit: every retention purge and erasure, and the scheduled purge's ledger.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "privacy_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("cutoff", _ts()),
        sa.Column("run_key", sa.String(64), unique=True),
        sa.Column("subject", sa.String(64)),
        sa.Column("counts", sa.Text, nullable=False),
    )
    op.create_index("ix_privacy_audit_subject", "privacy_audit", ["subject"])


def downgrade() -> None:
    op.drop_table("privacy_audit")
