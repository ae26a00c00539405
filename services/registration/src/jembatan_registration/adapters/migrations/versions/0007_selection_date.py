"""the date each candidate's eligibility was judged on

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A correction is judged again on the date the registration was judged on. Candidates
    # registered before keep null: they were judged on their registration date.
    op.add_column("candidates", sa.Column("selection_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("selection_date")
