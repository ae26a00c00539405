"""a withdrawn candidate leaves every path not yet in Japan

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENDED_BEFORE = "status NOT IN ('interview_failed', 'returned_early')"
ENDED_NOW = "status NOT IN ('interview_failed', 'returned_early', 'withdrawn')"


def upgrade() -> None:
    op.create_table(
        "candidate_withdrawals",
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("agency", sa.String(length=32), nullable=False),
        sa.Column("journey_id", sa.Uuid(), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("candidate_id"),
    )
    with op.batch_alter_table("ready_candidates") as batch:
        batch.add_column(sa.Column("withdrawn_on", sa.Date(), nullable=True))
    # A withdrawn path has ended: the candidate's id may no longer start another, but the index
    # of one live path per order counts only the live ones.
    _path_index(ENDED_BEFORE, ENDED_NOW)


def downgrade() -> None:
    # The older code knows no withdrawn path: it ends as a failed interview would, without the
    # step it does not know.
    op.execute("DELETE FROM placement_steps WHERE status = 'withdrawn'")
    op.execute("UPDATE placements SET status = 'interview_failed' WHERE status = 'withdrawn'")
    _path_index(ENDED_NOW, ENDED_BEFORE)
    with op.batch_alter_table("ready_candidates") as batch:
        batch.drop_column("withdrawn_on")
    op.drop_table("candidate_withdrawals")


def _path_index(was: str, becomes: str) -> None:
    # Dropped and created in place: rebuilding placements on SQLite would break the foreign key
    # of its steps.
    op.drop_index(
        "uq_placements_one_path_per_order",
        table_name="placements",
        sqlite_where=sa.text(was),
        postgresql_where=sa.text(was),
    )
    op.create_index(
        "uq_placements_one_path_per_order",
        "placements",
        ["job_order_id", "candidate_id"],
        unique=True,
        sqlite_where=sa.text(becomes),
        postgresql_where=sa.text(becomes),
    )
