"""Scheduled digests: their ledger, attachments on the outbox, the bureau's webhook.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "digest",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("period_start", _ts(), nullable=False),
        sa.Column("period_end", _ts(), nullable=False),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("queued_at", _ts(), nullable=False),
        sa.Column("sent_at", _ts()),
        sa.UniqueConstraint("kind", "period_start", name="uq_digest_period"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("attachment", sa.LargeBinary))
        batch.add_column(sa.Column("attachment_name", sa.String(120)))
        batch.add_column(sa.Column("attachment_kind", sa.String(8)))
        batch.add_column(sa.Column("digest_id", sa.Integer))
        batch.create_foreign_key("fk_outbox_digest_id", "digest", ["digest_id"], ["id"])
        batch.create_index("ix_outbox_digest_id", ["digest_id"])
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(160), nullable=False, unique=True),
        sa.Column("digest_id", sa.Integer, sa.ForeignKey("digest.id")),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("next_try_at", _ts(), nullable=False),
        sa.Column("claimed_until", _ts()),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("delivered_at", _ts()),
        sa.Column("last_status", sa.Integer),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_webhook_delivery_digest_id", "webhook_delivery", ["digest_id"])
    op.create_index(
        "ix_webhook_delivery_pending", "webhook_delivery", ["delivered_at", "next_try_at"]
    )


def downgrade() -> None:
    op.drop_table("webhook_delivery")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_digest_id")
        batch.drop_constraint("fk_outbox_digest_id", type_="foreignkey")
        batch.drop_column("digest_id")
        batch.drop_column("attachment_kind")
        batch.drop_column("attachment_name")
        batch.drop_column("attachment")
    op.drop_table("digest")
