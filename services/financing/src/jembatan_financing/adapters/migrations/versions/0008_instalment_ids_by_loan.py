"""instalment ids that start with their loan's, so a schedule sits together in the index

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 21:30:00
"""

import uuid
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IDS = uuid.UUID("6c1f4a8e-2d0b-5f43-9a57-1b8e0f3c7d21")
BATCH = 5000

instalments = sa.table(
    "instalments",
    sa.column("id", sa.Uuid()),
    sa.column("loan_id", sa.Uuid()),
    sa.column("number", sa.Integer()),
)


def _by_loan(loan_id: uuid.UUID, number: int) -> uuid.UUID:
    # As `domain.model.instalment_id_for` is at this revision (a migration keeps its own copy).
    named = uuid.uuid5(_IDS, f"instalment/{loan_id}/{number}").bytes
    return uuid.UUID(bytes=loan_id.bytes[:6] + bytes([0x80 | named[6] & 0x0F]) + named[7:])


def _random(loan_id: uuid.UUID, number: int) -> uuid.UUID:
    return uuid.uuid5(_IDS, f"instalment/{loan_id}/{number}")


def _renumber(make: Callable[[uuid.UUID, int], uuid.UUID]) -> None:
    """Give every instalment the id `make` gives its loan and number, a batch at a time."""
    connection = op.get_bind()
    last: tuple[uuid.UUID, int] | None = None
    while True:
        query = sa.select(instalments.c.id, instalments.c.loan_id, instalments.c.number)
        if last is not None:
            query = query.where(sa.tuple_(instalments.c.loan_id, instalments.c.number) > last)
        rows = connection.execute(
            query.order_by(instalments.c.loan_id, instalments.c.number).limit(BATCH)
        ).all()
        if not rows:
            return
        changes = [
            {"old": row.id, "new": new}
            for row in rows
            if (new := make(row.loan_id, row.number)) != row.id
        ]
        if changes:
            connection.execute(
                instalments.update()
                .where(instalments.c.id == sa.bindparam("old"))
                .values(id=sa.bindparam("new")),
                changes,
            )
        last = (rows[-1].loan_id, rows[-1].number)


def upgrade() -> None:
    _renumber(_by_loan)


def downgrade() -> None:
    _renumber(_random)
