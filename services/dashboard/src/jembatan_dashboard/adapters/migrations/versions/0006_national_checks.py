"""where the national identity index stands on each candidate: provisional, duplicate, suspended

A rebuild fills it from the streams.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "national_checks",
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("agency", sa.String(length=32), nullable=False),
        sa.Column("standing", sa.String(length=16), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("candidate_id"),
    )
    op.create_index("ix_national_checks_agency", "national_checks", ["agency"])


def downgrade() -> None:
    op.drop_index("ix_national_checks_agency", table_name="national_checks")
    op.drop_table("national_checks")
