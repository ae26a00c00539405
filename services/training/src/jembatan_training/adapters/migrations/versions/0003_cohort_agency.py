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
    # A plain ADD COLUMN, not a table copy: on SQLite, copying cohorts would drop a table that
    # cohort_stages and cohort_members reference.
    op.add_column(
        "cohorts",
        sa.Column("agency", sa.String(length=32), nullable=False, server_default="kemnaker"),
    )
    # A cohort opened before agencies were recorded belongs to the agency of its first member;
    # one without members to Kemnaker (the default above), which sees every agency.
    op.execute(
        """
        UPDATE cohorts SET agency = COALESCE(
            (SELECT enrolments.agency FROM cohort_members
             JOIN enrolments ON enrolments.candidate_id = cohort_members.candidate_id
             WHERE cohort_members.cohort_id = cohorts.id
             ORDER BY cohort_members.joined_at LIMIT 1),
            agency)
        """
    )
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot drop a column default
        op.alter_column("cohorts", "agency", server_default=None)
    op.create_index("ix_cohorts_agency", "cohorts", ["agency"])


def downgrade() -> None:
    op.drop_index("ix_cohorts_agency", table_name="cohorts")
    with op.batch_alter_table("cohorts") as batch:
        batch.drop_column("agency")
