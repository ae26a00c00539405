"""the national identity index: each candidate's standing there, what it has still to hear

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "national_check", sa.String(length=16), nullable=False, server_default="cleared"
            )
        )
        # Candidates registered before the index existed are sent to it once (a rebuild).
        batch_op.add_column(
            sa.Column("index_due", sa.Boolean(), nullable=False, server_default="0")
        )
        batch_op.create_index("ix_candidates_index_due", ["index_due", "registered_at"])
    op.execute("UPDATE candidates SET index_due = (status = 'active')")
    op.create_table(
        "index_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.String(length=36), nullable=True),
        sa.Column("last_notice", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("index_cursor")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_index_due")
        batch_op.drop_column("index_due")
        batch_op.drop_column("national_check")
