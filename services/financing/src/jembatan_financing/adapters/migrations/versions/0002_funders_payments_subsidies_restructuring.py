"""funders, payments, subsidies, restructuring

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 05:20:59.525243
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "funders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount_idr", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("instalment_numbers", sa.String(length=400), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("loan_id", "reference", name="uq_payments_loan_reference"),
    )
    op.create_table(
        "restructurings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("return_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_due_date", sa.Date(), nullable=True),
        sa.Column("instalments", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("restructurings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_restructurings_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "subsidies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=120), nullable=False),
        sa.Column("item", sa.String(length=120), nullable=False),
        sa.Column("amount_idr", sa.BigInteger(), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("subsidies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subsidies_loan_id"), ["loan_id"], unique=False)

    with op.batch_alter_table("cost_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("charged_on", sa.Date(), nullable=True))

    with op.batch_alter_table("instalments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paid_idr", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("funder_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("monthly_wage_jpy", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("paused_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("refund_due_idr", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_loans_funder_id"), ["funder_id"], unique=False)
        batch_op.create_foreign_key("fk_loans_funder_id", "funders", ["funder_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_constraint("fk_loans_funder_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_loans_funder_id"))
        batch_op.drop_column("refund_due_idr")
        batch_op.drop_column("settled_at")
        batch_op.drop_column("paused_on")
        batch_op.drop_column("monthly_wage_jpy")
        batch_op.drop_column("funder_id")

    with op.batch_alter_table("instalments", schema=None) as batch_op:
        batch_op.drop_column("superseded_at")
        batch_op.drop_column("paid_idr")

    with op.batch_alter_table("cost_items", schema=None) as batch_op:
        batch_op.drop_column("charged_on")

    with op.batch_alter_table("subsidies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidies_loan_id"))

    op.drop_table("subsidies")
    with op.batch_alter_table("restructurings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_restructurings_loan_id"))

    op.drop_table("restructurings")
    op.drop_table("payments")
    op.drop_table("funders")
