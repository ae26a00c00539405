"""a version per candidate, for changes that must not overwrite each other

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A withdrawal or correction writes `WHERE version = <the version it read>`, so two changes
    # of one candidate at the same moment cannot both apply (the second is refused).
    op.add_column(
        "candidates", sa.Column("version", sa.Integer(), nullable=False, server_default="1")
    )


def downgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("version")
