"""a held certificate keeps the agency and journey of its CertificatePassed

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A readiness is believed only for a candidate whose certificate placement holds, of the
    # same agency and journey (domain.readiness.doubt). Certificates held
    # before this revision have neither: they vouch for any readiness of their candidate.
    with op.batch_alter_table("candidate_certificates") as batch:
        batch.add_column(sa.Column("agency", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("journey_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("candidate_certificates") as batch:
        batch.drop_column("journey_id")
        batch.drop_column("agency")
