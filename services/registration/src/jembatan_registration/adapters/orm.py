from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)

from jembatan_kit.timestamps import UtcDateTime

metadata = MetaData()

ONE_ACTIVE_PER_NIK = text("status = 'active'")
"""The rows among which a NIK is unique: one person, one active registration."""

candidates = Table(
    "candidates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("journey_id", Uuid, nullable=False, unique=True),
    Column("agency", String(32), nullable=False, index=True),
    Column("nik_hash", String(64), nullable=False, index=True),
    Column("nik_encrypted", Text, nullable=False),
    Column("nik_masked", String(16), nullable=False),
    Column("name_encrypted", Text, nullable=False),
    Column("phone_encrypted", Text, nullable=True),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("education", String(16), nullable=False),
    Column("track", String(8), nullable=False),
    Column("preferred_sector", String(40), nullable=False),
    Column("province_code", String(2), nullable=False),
    Column("status", String(16), nullable=False),
    Column("rule_set", String(32), nullable=True),
    Column("warnings", JSON, nullable=False, default=list),
    Column("registered_at", UtcDateTime(), nullable=False),
    # The date eligibility was judged on; null for candidates registered before it was kept
    # (they were judged on their registration date).
    Column("selection_date", Date, nullable=True),
    # Each change of a candidate writes `WHERE version = <the version read>`, then increments it.
    Column("version", Integer, nullable=False, server_default="1"),
    # Where the national identity index stands on the candidate (domain.model.NationalCheck),
    # and whether it has still to hear of the candidate (a claim, or a release once withdrawn).
    Column("national_check", String(16), nullable=False, server_default="cleared"),
    Column("index_due", Boolean, nullable=False, server_default="0"),
    Index("ix_candidates_index_due", "index_due", "registered_at"),
    # One person, one active registration, whichever agency registered them.
    Index(
        "uq_candidates_one_active_per_nik",
        "nik_hash",
        unique=True,
        sqlite_where=ONE_ACTIVE_PER_NIK,
        postgresql_where=ONE_ACTIVE_PER_NIK,
    ),
)

bulk_uploads = Table(
    "bulk_uploads",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("agency", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("refused", Integer, nullable=False),
    Column("results", JSON, nullable=False),
    UniqueConstraint("agency", "sha256", name="uq_bulk_uploads_agency_file"),
)

withdrawals = Table(
    "withdrawals",
    metadata,
    Column("candidate_id", Uuid, primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("note", Text, nullable=True),
    Column("withdrawn_at", UtcDateTime(), nullable=False),
)

nik_reads = Table(
    "nik_reads",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("candidate_id", Uuid, nullable=False, index=True),
    Column("reader", String(120), nullable=False),
    Column("reason", Text, nullable=False),
    Column("read_at", UtcDateTime(), nullable=False),
)

index_cursor = Table(
    "index_cursor",
    metadata,
    # One row: the last notice of the national identity index applied here, in its epoch.
    Column("id", Integer, primary_key=True),
    Column("epoch", String(36), nullable=True),
    Column("last_notice", BigInteger, nullable=False),
)
