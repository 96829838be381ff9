"""An index that lets the SLA sweep read only clocks whose warning time has come.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ticket_clock_open_warn", "ticket_clock", ["stopped_at", "warn_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_clock_open_warn", table_name="ticket_clock")
