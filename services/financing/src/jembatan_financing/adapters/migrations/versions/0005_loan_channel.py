"""the channel a loan's participant was placed through

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
    # Empty on the loans opened before: they are held to their track's lowest maximum principal.
    with op.batch_alter_table("loans") as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("loans") as batch_op:
        batch_op.drop_column("channel")
