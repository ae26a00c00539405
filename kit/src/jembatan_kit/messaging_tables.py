"""Outbox and inbox tables. Every service's database has both, created by its own migrations."""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)

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
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Index("ix_outbox_unsent", "sent_at", "id"),
)

inbox_table = Table(
    "inbox",
    messaging_metadata,
    Column("consumer", String(120), primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("event_type", String(80), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)
