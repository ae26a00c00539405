"""instalments keep their scheduled amount, payments what they paid of each; the funder's
write-offs, loans awaiting a decision, and the day a loan's schedule was fixed or it was closed

RepaymentDue 1.1 and PaymentRecorded 1.1 let arrears be counted exactly whatever the order of a
payment and an announcement on the same day; LoanWrittenOff and ScheduleNeedsDecision show the
funder's loss. Rows from before stay null: they are counted as before. A rebuild fills them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("repayments_due", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheduled_amount_idr", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allocations", sa.JSON(), nullable=True))
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule_fixed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
    op.create_table(
        "write_offs",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("amount_idr", sa.BigInteger(), nullable=False),
        sa.Column("written_off_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_write_offs_loan_id", "write_offs", ["loan_id"])
    op.create_table(
        "decisions_needed",
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("departure_date", sa.Date(), nullable=False),
        sa.Column("owed_idr", sa.BigInteger(), nullable=False),
        sa.Column("shortfall_idr", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("loan_id"),
    )


def downgrade() -> None:
    op.drop_table("decisions_needed")
    op.drop_index("ix_write_offs_loan_id", table_name="write_offs")
    op.drop_table("write_offs")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_column("closed_on")
        batch_op.drop_column("schedule_fixed_on")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("allocations")
    with op.batch_alter_table("repayments_due", schema=None) as batch_op:
        batch_op.drop_column("scheduled_amount_idr")
