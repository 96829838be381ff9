"""Typed storage: the 0/1 flags become booleans; closed sets of strings stay VARCHAR.

The statuses, priorities, levels and kinds the models now map to enums are stored as
non-native enums: the same VARCHAR of the same length, holding the same strings, with no
CHECK constraint, so they need no change here and no row is rewritten for them. The one
exception is ticket_clock.result, widened so that "cancelled" fits.

PostgreSQL alters each flag in place (`USING col <> 0`); SQLite rebuilds the five tables
(batch mode), copying the 0/1 values into BOOLEAN columns. None of the flags had a server
default, so there is none to change.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

FLAGS = {
    "message": ("sent",),
    "answer_feedback": ("helpful",),
    "ticket_clock": ("warned", "breached"),
    "outbox": ("reply_to_card",),
    "incident_timer": ("cancelled",),
}


def upgrade() -> None:
    for table, columns in FLAGS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(
                    column,
                    existing_type=sa.Integer(),
                    type_=sa.Boolean(),
                    existing_nullable=False,
                    postgresql_using=f"{column} <> 0",
                )
            if table == "ticket_clock":
                batch.alter_column(
                    "result", existing_type=sa.String(8), type_=sa.String(16), nullable=True
                )


def downgrade() -> None:
    for table, columns in FLAGS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(
                    column,
                    existing_type=sa.Boolean(),
                    type_=sa.Integer(),
                    existing_nullable=False,
                    postgresql_using=f"CASE WHEN {column} THEN 1 ELSE 0 END",
                )
            if table == "ticket_clock":
                # PostgreSQL refuses this if a "cancelled" result has been written since:
                # the desk writes none today, and cutting it short would lose what it says.
                batch.alter_column(
                    "result", existing_type=sa.String(16), type_=sa.String(8), nullable=True
                )
