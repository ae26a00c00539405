"""withdrawn candidates, and the day a loan closed because its candidate never departed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "withdrawn_candidates",
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("agency", sa.String(length=32), nullable=False),
        sa.Column("journey_id", sa.Uuid(), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("candidate_id"),
    )
    with op.batch_alter_table("loans") as batch_op:
        batch_op.add_column(sa.Column("closed_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("loans") as batch_op:
        batch_op.drop_column("closed_on")
    op.drop_table("withdrawn_candidates")
