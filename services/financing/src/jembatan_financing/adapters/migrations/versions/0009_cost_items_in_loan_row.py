"""a loan's cost items kept in its row

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:00:00
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
"""Loans moved a statement at a time."""

loans = sa.table("loans", sa.column("id", sa.Uuid()), sa.column("cost_items", sa.JSON()))

cost_items = sa.table(
    "cost_items",
    sa.column("loan_id", sa.Uuid()),
    sa.column("position", sa.Integer()),
    sa.column("code", sa.String()),
    sa.column("description", sa.Text()),
    sa.column("amount_idr", sa.BigInteger()),
    sa.column("charged_on", sa.Date()),
)


def upgrade() -> None:
    with op.batch_alter_table("loans") as batch_op:
        batch_op.add_column(
            sa.Column("cost_items", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    connection = op.get_bind()
    last = None
    while True:
        query = sa.select(loans.c.id).order_by(loans.c.id).limit(BATCH)
        if last is not None:
            query = query.where(loans.c.id > last)
        ids = list(connection.scalars(query))
        if not ids:
            break
        lines: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        rows = connection.execute(
            sa.select(cost_items)
            .where(cost_items.c.loan_id.in_(ids))
            .order_by(cost_items.c.loan_id, cost_items.c.position)
        )
        for row in rows:
            lines[row.loan_id].append(
                {
                    "position": row.position,
                    "code": row.code,
                    "description": row.description,
                    "amount_idr": row.amount_idr,
                    "charged_on": row.charged_on.isoformat() if row.charged_on else None,
                }
            )
        if lines:
            connection.execute(
                loans.update()
                .where(loans.c.id == sa.bindparam("loan_id"))
                .values(cost_items=sa.bindparam("lines")),
                [{"loan_id": loan_id, "lines": kept} for loan_id, kept in lines.items()],
            )
        last = ids[-1]
    op.drop_table("cost_items")


def downgrade() -> None:
    op.create_table(
        "cost_items",
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount_idr", sa.BigInteger(), nullable=False),
        sa.Column("charged_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"]),
        sa.PrimaryKeyConstraint("loan_id", "position"),
    )
    connection = op.get_bind()
    last = None
    while True:
        query = sa.select(loans.c.id, loans.c.cost_items).order_by(loans.c.id).limit(BATCH)
        if last is not None:
            query = query.where(loans.c.id > last)
        rows = connection.execute(query).all()
        if not rows:
            break
        items = [
            {
                "loan_id": row.id,
                "position": line["position"],
                "code": line["code"],
                "description": line["description"],
                "amount_idr": line["amount_idr"],
                "charged_on": date.fromisoformat(line["charged_on"])
                if line["charged_on"]
                else None,
            }
            for row in rows
            for line in row.cost_items
        ]
        if items:
            connection.execute(cost_items.insert(), items)
        last = rows[-1].id
    with op.batch_alter_table("loans") as batch_op:
        batch_op.drop_column("cost_items")
