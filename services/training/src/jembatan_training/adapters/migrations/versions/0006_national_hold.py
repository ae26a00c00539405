"""readiness waits for the national identity index: each enrolment's hold

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
    # A plain ADD COLUMN: enrolments are referenced by other tables (see 0003).
    op.add_column("enrolments", sa.Column("national_hold", sa.String(length=16), nullable=True))
    op.add_column(
        "enrolments", sa.Column("national_hold_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_column("national_hold_at")
        batch_op.drop_column("national_hold")
