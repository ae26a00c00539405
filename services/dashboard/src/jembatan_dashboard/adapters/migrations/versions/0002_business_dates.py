"""payments keep their payment date, restructurings their new first due date

Arrears are worked out from business dates, not from the clocks that stamped the events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paid_on", sa.Date(), nullable=True))
    with op.batch_alter_table("restructurings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_due_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("restructurings", schema=None) as batch_op:
        batch_op.drop_column("first_due_date")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("paid_on")
