"""the scheduler's index holds only the instalments it may still announce

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_instalments_unannounced_due"
STILL_UNANNOUNCED = sa.text("announced_at IS NULL AND superseded_at IS NULL")


def upgrade() -> None:
    op.drop_index(INDEX, table_name="instalments")
    op.create_index(
        INDEX,
        "instalments",
        ["due_date", "id"],
        sqlite_where=STILL_UNANNOUNCED,
        postgresql_where=STILL_UNANNOUNCED,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="instalments")
    op.create_index(INDEX, "instalments", ["due_date", "announced_at"])
