"""one outbox relay at a time among replicas; inbox rows deleted by age

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Which replica's relay publishes the outbox, until when (jembatan_kit.outbox.RelayLease).
    op.create_table(
        "outbox_relay_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    # Retention deletes inbox rows by age (jembatan_kit.retention).
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_processed_at", table_name="inbox")
    op.drop_table("outbox_relay_lease")
