"""Outbox, inbox and relay lease tables. Every service's database has them, created by its own
migrations."""

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    text,
)

from .timestamps import UtcDateTime

messaging_metadata = MetaData()

outbox_table = Table(
    "outbox",
    messaging_metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("event_type", String(80), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("journey_id", Uuid, nullable=False),
    Column("payload", Text, nullable=False),
    Column("traceparent", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    # Retention deletes sent rows by age (`retention.py`).
    Index("ix_outbox_unsent", "sent_at", "id"),
    # The relay's rows to publish, in order (`outbox.unsent_rows`): on PostgreSQL read from
    # this index, however many rows were sent before. With only the one above, PostgreSQL
    # walked the primary key past every sent row on each of the relay's polls.
    Index(
        "ix_outbox_pending",
        "id",
        sqlite_where=text("sent_at IS NULL"),
        postgresql_where=text("sent_at IS NULL"),
    ),
)

inbox_table = Table(
    "inbox",
    messaging_metadata,
    Column("consumer", String(120), primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("event_type", String(80), nullable=False),
    Column("processed_at", UtcDateTime(), nullable=False),
    # Retention deletes by age (`retention.py`).
    Index("ix_inbox_processed_at", "processed_at"),
)

outbox_relay_lease_table = Table(
    "outbox_relay_lease",
    messaging_metadata,
    # One row per outbox ("outbox"): the relay that may publish it until `expires_at`
    # (database time), renewed while it lives. See `outbox.RelayLease`.
    Column("name", String(64), primary_key=True),
    Column("holder", String(120), nullable=True),
    Column("expires_at", UtcDateTime(), nullable=True),
)
