from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    text,
)

from jembatan_kit.timestamps import UtcDateTime

metadata = MetaData()

enrolments = Table(
    "enrolments",
    metadata,
    Column("candidate_id", Uuid, primary_key=True),
    Column("journey_id", Uuid, nullable=False, unique=True),
    Column("agency", String(32), nullable=False, index=True),
    Column("track", String(8), nullable=False),
    Column("sector", String(40), nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("enrolled_at", UtcDateTime(), nullable=False),
    Column("ready_at", UtcDateTime(), nullable=True, index=True),
    Column("withdrawn_on", Date, nullable=True),
    Column("withdrawal_reason", String(32), nullable=True),
    # Why readiness for placement waits for the national identity index (provisional,
    # duplicate, suspended); null once the person is cleared.
    Column("national_hold", String(16), nullable=True),
    # When registration told the hold (or its lifting) last: an older word, arriving later on
    # another consumer, is not taken.
    Column("national_hold_at", UtcDateTime(), nullable=True),
)

results = Table(
    "results",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "candidate_id",
        Uuid,
        ForeignKey("enrolments.candidate_id"),
        nullable=False,
        index=True,
    ),
    Column("test", String(32), nullable=False),
    Column("level", String(8), nullable=True),
    Column("score", Integer, nullable=True),
    Column("sector", String(40), nullable=True),
    Column("issuer", String(120), nullable=False),
    Column("taken_on", Date, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

sector_changes = Table(
    "sector_changes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "candidate_id",
        Uuid,
        ForeignKey("enrolments.candidate_id"),
        nullable=False,
        index=True,
    ),
    Column("previous_sector", String(40), nullable=False),
    Column("sector", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
)

cohorts = Table(
    "cohorts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("agency", String(32), nullable=False, index=True),
    Column("training_centre", String(120), nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("capacity", Integer, nullable=False),
    # Kept beside capacity so a seat is taken by one conditional UPDATE, safe under concurrency.
    Column("members", Integer, nullable=False),
    Column("sector", String(40), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint("members >= 0 AND members <= capacity", name="ck_cohorts_members_fit"),
)

cohort_stages = Table(
    "cohort_stages",
    metadata,
    Column("cohort_id", Uuid, ForeignKey("cohorts.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("centre", String(120), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
)

cohort_members = Table(
    "cohort_members",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("cohort_id", Uuid, ForeignKey("cohorts.id"), nullable=False, index=True),
    Column("candidate_id", Uuid, ForeignKey("enrolments.candidate_id"), nullable=False),
    Column("joined_at", UtcDateTime(), nullable=False),
    Column("left_at", UtcDateTime(), nullable=True),
    Column("left_reason", String(32), nullable=True),
    # A candidate is in one cohort at a time; past memberships stay as history.
    Index(
        "uq_cohort_members_one_current",
        "candidate_id",
        unique=True,
        sqlite_where=text("left_at IS NULL"),
        postgresql_where=text("left_at IS NULL"),
    ),
)

daily_scores = Table(
    "daily_scores",
    metadata,
    Column("candidate_id", Uuid, ForeignKey("enrolments.candidate_id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("score", Integer, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

result_imports = Table(
    "result_imports",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("refused", Integer, nullable=False),
    Column("rows", JSON, nullable=False),
)
