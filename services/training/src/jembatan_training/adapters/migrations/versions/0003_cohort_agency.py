"""cohorts belong to the agency that opened them

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cohorts") as batch:
        batch.add_column(sa.Column("agency", sa.String(length=32), nullable=True))
    # A cohort opened before agencies were recorded belongs to the agency of its first member;
    # one without members to Kemnaker, which sees every agency.
    op.execute(
        """
        UPDATE cohorts SET agency = COALESCE(
            (SELECT enrolments.agency FROM cohort_members
             JOIN enrolments ON enrolments.candidate_id = cohort_members.candidate_id
             WHERE cohort_members.cohort_id = cohorts.id
             ORDER BY cohort_members.joined_at LIMIT 1),
            'kemnaker')
        """
    )
    with op.batch_alter_table("cohorts") as batch:
        batch.alter_column("agency", existing_type=sa.String(length=32), nullable=False)
        batch.create_index("ix_cohorts_agency", ["agency"])


def downgrade() -> None:
    with op.batch_alter_table("cohorts") as batch:
        batch.drop_index("ix_cohorts_agency")
        batch.drop_column("agency")
