"""The read model: facts about candidates, loans and daily scores, each set idempotently and
independently of the order in which events arrive. No personal data: ids, agencies, dates,
amounts, scores and reasons only."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
)

from jembatan_kit.timestamps import UtcDateTime

metadata = MetaData()

candidates = Table(
    "candidates",
    metadata,
    Column("candidate_id", Uuid, primary_key=True),
    Column("agency", String(32), nullable=False, index=True),
    Column("track", String(8), nullable=True),
    # The first day each stage was reached (see domain/stages.py).
    Column("registered_on", Date, nullable=True, index=True),
    Column("in_training_on", Date, nullable=True),
    Column("certified_on", Date, nullable=True),
    Column("ready_on", Date, nullable=True),
    Column("placed_on", Date, nullable=True),
    Column("departed_on", Date, nullable=True, index=True),
    Column("repaying_on", Date, nullable=True),
    Column("settled_on", Date, nullable=True),
    Column("withdrawn_on", Date, nullable=True),
    Column("returned_on", Date, nullable=True),
)

drop_outs = Table(
    "drop_outs",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("candidate_id", Uuid, nullable=False, index=True),
    Column("agency", String(32), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("day", Date, nullable=False),
)

daily_scores = Table(
    "daily_scores",
    metadata,
    Column("candidate_id", Uuid, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("agency", String(32), nullable=False, index=True),
    Column("score", Integer, nullable=False),
    Column("cohort_id", Uuid, nullable=True),
    Column("cohort_name", String(120), nullable=True),
    Column("training_centre", String(120), nullable=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

loans = Table(
    "loans",
    metadata,
    Column("loan_id", Uuid, primary_key=True),
    Column("candidate_id", Uuid, nullable=False, index=True),
    Column("agency", String(32), nullable=False, index=True),
    Column("settled_on", Date, nullable=True),
    Column("schedule_fixed_on", Date, nullable=True),
    Column("closed_on", Date, nullable=True),  # closed unsettled: the candidate never departed
)

repayments_due = Table(
    "repayments_due",
    metadata,
    Column("loan_id", Uuid, primary_key=True),
    Column("instalment_number", Integer, primary_key=True),
    Column("due_date", Date, nullable=False),
    Column("amount_idr", BigInteger, nullable=False),  # still owed when announced
    Column("announced_at", UtcDateTime(), nullable=False),
    Column("scheduled_amount_idr", BigInteger, nullable=True),  # null if told before 1.1
)

payments = Table(
    "payments",
    metadata,
    Column("payment_id", Uuid, primary_key=True),
    Column("loan_id", Uuid, nullable=False, index=True),
    Column("amount_idr", BigInteger, nullable=False),
    Column("instalment_numbers", JSON, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("paid_on", Date, nullable=True),  # null only in rows from before it was kept
    # [[instalment number, amount], ...]; null if told before 1.1
    Column("allocations", JSON, nullable=True),
)

restructurings = Table(
    "restructurings",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("loan_id", Uuid, nullable=False),
    Column("restructured_at", UtcDateTime(), nullable=False),
    Column("first_due_date", Date, nullable=True),  # as paid_on
    Index("ix_restructurings_loan", "loan_id"),
)

write_offs = Table(
    "write_offs",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("loan_id", Uuid, nullable=False, index=True),
    Column("reason", String(32), nullable=False),
    Column("amount_idr", BigInteger, nullable=False),
    Column("written_off_on", Date, nullable=False),
)

decisions_needed = Table(
    "decisions_needed",
    metadata,
    Column("loan_id", Uuid, primary_key=True),
    Column("reason", String(64), nullable=False),
    Column("departure_date", Date, nullable=False),
    Column("owed_idr", BigInteger, nullable=False),
    Column("shortfall_idr", BigInteger, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

national_checks = Table(
    "national_checks",
    metadata,
    # Where the national identity index stands on a candidate, as registration last told it
    # (`told_at`, the event's time: the later told wins whatever order events arrive in):
    # provisional, duplicate, suspended, or cleared.
    Column("candidate_id", Uuid, primary_key=True),
    Column("agency", String(32), nullable=False, index=True),
    Column("standing", String(16), nullable=False),
    Column("told_at", UtcDateTime(), nullable=False),
)

READ_MODEL = (
    candidates,
    national_checks,
    drop_outs,
    daily_scores,
    loans,
    repayments_due,
    payments,
    restructurings,
    write_offs,
    decisions_needed,
)
"""Every table a rebuild empties and fills again from the streams."""
