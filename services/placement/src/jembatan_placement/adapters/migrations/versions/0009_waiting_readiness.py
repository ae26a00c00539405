"""a readiness that outran its certificate waits in a table, not on the bus

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Was offered again by NATS (RetryLater) and dead-lettered when its attempts were spent.
    op.create_table(
        "waiting_readiness",
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("journey_id", sa.Uuid(), nullable=False),
        sa.Column("agency", sa.String(length=32), nullable=False),
        sa.Column("track", sa.String(length=8), nullable=False),
        sa.Column("sector", sa.String(length=40), nullable=False),
        sa.Column("language_level", sa.String(length=16), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("daily_score_average", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("candidate_id"),
    )


def downgrade() -> None:
    op.drop_table("waiting_readiness")
