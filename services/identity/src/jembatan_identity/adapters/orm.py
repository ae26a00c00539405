from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)

from jembatan_kit.timestamps import UtcDateTime

metadata = MetaData()

claims = Table(
    "claims",
    metadata,
    Column("candidate_id", Uuid, primary_key=True),
    Column("agency", String(32), nullable=False),
    # HMAC-SHA256 of the NIK under the national key; never the NIK, never an unkeyed hash.
    Column("nik_hash", String(64), nullable=False),
    Column("registered_at", UtcDateTime(), nullable=False),
    Column("standing", String(16), nullable=False),
    Column("released", Boolean, nullable=False, default=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_claims_active_hash", "nik_hash", "released"),
)

notices = Table(
    "notices",
    metadata,
    Column(
        "sequence",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("agency", String(32), nullable=False),
    Column("candidate_id", Uuid, nullable=False),
    Column("standing", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_notices_agency_sequence", "agency", "sequence"),
)

index_epoch = Table(
    "index_epoch",
    metadata,
    # One row, written by the first migration: a new database (an index rebuilt after the loss
    # of the hub's data) has a new epoch, and the agencies read its notices from the start.
    Column("id", Integer, primary_key=True),
    Column("epoch", String(36), nullable=False),
)
