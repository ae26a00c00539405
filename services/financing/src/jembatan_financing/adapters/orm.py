from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    text,
)

from jembatan_kit.timestamps import UtcDateTime

metadata = MetaData()

funders = Table(
    "funders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

loans = Table(
    "loans",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("placement_id", Uuid, nullable=False, unique=True),
    Column("candidate_id", Uuid, nullable=False, index=True),
    Column("agency", String(32), nullable=False),
    Column("journey_id", Uuid, nullable=False),
    Column("track", String(8), nullable=False),
    Column("contract_months", Integer, nullable=False),
    Column("principal_idr", BigInteger, nullable=False),
    Column("repayment_channel", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("departure_date", Date, nullable=True),
    Column("schedule_fixed_at", UtcDateTime(), nullable=True),
    # Empty on loans opened before funders and wages were recorded.
    Column(
        "funder_id",
        Uuid,
        ForeignKey("funders.id", name="fk_loans_funder_id"),
        nullable=True,
        index=True,
    ),
    Column("monthly_wage_jpy", Integer, nullable=True),
    Column("paused_on", Date, nullable=True),
    Column("settled_at", UtcDateTime(), nullable=True),
    Column("refund_due_idr", BigInteger, nullable=False, server_default="0"),
    # How the participant was placed (im_japan, private_lpk); empty on loans opened before.
    Column("channel", String(32), nullable=True),
    # The day the candidate withdrew, on a loan closed because they never departed.
    Column("closed_on", Date, nullable=True),
    # What the loan charges, line by line, in the order charged: a list of {position, code,
    # description, amount_idr, charged_on}. Kept in the loan's row: the lines are only ever read
    # and changed with their loan, and a row each cost more to write than the loan itself.
    Column("cost_items", JSON, nullable=False, server_default=text("'[]'")),
)

LOAN_WITHOUT_COSTS = [column for column in loans.c if column is not loans.c.cost_items]
"""A loan's row as most readers want it: without the cost items, which only a few need."""

# Candidates registration announced as withdrawn: a loan opened for one of them afterwards (its
# CandidatePlaced handled after the withdrawal) is closed as it opens.
withdrawn_candidates = Table(
    "withdrawn_candidates",
    metadata,
    Column("candidate_id", Uuid, primary_key=True),
    Column("agency", String(32), nullable=False),
    Column("journey_id", Uuid, nullable=False),
    Column("withdrawn_on", Date, nullable=False),
)

STILL_UNANNOUNCED = "announced_at IS NULL AND superseded_at IS NULL"

instalments = Table(
    "instalments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("loan_id", Uuid, ForeignKey("loans.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("amount_idr", BigInteger, nullable=False),
    Column("announced_at", UtcDateTime(), nullable=True),
    Column("traceparent", String(64), nullable=True),
    Column("paid_idr", BigInteger, nullable=False, server_default="0"),
    # Set when a restructuring replaced this instalment; it never falls due.
    Column("superseded_at", UtcDateTime(), nullable=True),
    UniqueConstraint("loan_id", "number", name="uq_instalments_loan_number"),
    # The scheduler's question: which unannounced instalments in force are due by today? Only
    # those are in the index, in the order it takes them: the announced ones, a year's worth
    # and more, would otherwise be read again on every sweep.
    Index(
        "ix_instalments_unannounced_due",
        "due_date",
        "id",
        sqlite_where=text(STILL_UNANNOUNCED),
        postgresql_where=text(STILL_UNANNOUNCED),
    ),
)

subsidies = Table(
    "subsidies",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("loan_id", Uuid, ForeignKey("loans.id"), nullable=False, index=True),
    Column("provider", String(120), nullable=False),
    Column("item", String(120), nullable=False),
    Column("amount_idr", BigInteger, nullable=False),
    Column("granted_on", Date, nullable=False),
)

write_offs = Table(
    "write_offs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("loan_id", Uuid, ForeignKey("loans.id"), nullable=False, index=True),
    Column("amount_idr", BigInteger, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("written_off_on", Date, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("loan_id", Uuid, ForeignKey("loans.id"), nullable=False),
    Column("reference", String(80), nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("amount_idr", BigInteger, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("instalment_numbers", String(400), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    UniqueConstraint("loan_id", "reference", name="uq_payments_loan_reference"),
)

restructurings = Table(
    "restructurings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("loan_id", Uuid, ForeignKey("loans.id"), nullable=False, index=True),
    Column("return_date", Date, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("first_due_date", Date, nullable=True),
    Column("instalments", Integer, nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
)
