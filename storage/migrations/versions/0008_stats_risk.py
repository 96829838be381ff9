"""T+1 subsidy statistics from the platform's export; the risk scorer's columns on messages.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subsidy_stat",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("industry", sa.String(32), nullable=False),
        sa.Column("quotas_issued", sa.BigInteger, nullable=False),
        sa.Column("amount_issued", sa.BigInteger, nullable=False),
        sa.Column("users_claiming", sa.BigInteger, nullable=False),
        sa.Column("users_using", sa.BigInteger, nullable=False),
        sa.Column("uses", sa.BigInteger, nullable=False),
        sa.Column("amount_used", sa.BigInteger, nullable=False),
        sa.Column("matching_discount", sa.BigInteger, nullable=False),
        sa.Column("refund_amount", sa.BigInteger, nullable=False),
        sa.Column("merchants", sa.BigInteger, nullable=False),
        sa.Column("driven_sales", sa.BigInteger, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("day", "industry", name="uq_subsidy_stat_day_industry"),
    )
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("risk_level", sa.String(8)))
        batch.add_column(sa.Column("risk_score", sa.Float))
        batch.add_column(sa.Column("risk_tags", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("risk_tags")
        batch.drop_column("risk_score")
        batch.drop_column("risk_level")
    op.drop_table("subsidy_stat")
