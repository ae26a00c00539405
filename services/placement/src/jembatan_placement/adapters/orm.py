from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    text,
)

from jembatan_kit.timestamps import UtcDateTime

from ..domain.journey import ENDED_STATUSES, SLOT_HOLDING_STATUSES, PlacementStatus

metadata = MetaData()


def _status_in(statuses: tuple[PlacementStatus, ...], negate: bool = False) -> str:
    listed = ", ".join(f"'{status.value}'" for status in statuses)
    return f"status {'NOT IN' if negate else 'IN'} ({listed})"


SLOT_HOLDING = _status_in(SLOT_HOLDING_STATUSES)
NOT_ENDED = _status_in(ENDED_STATUSES, negate=True)

ready_candidates = Table(
    "ready_candidates",
    metadata,
    Column("candidate_id", Uuid, primary_key=True),
    Column("journey_id", Uuid, nullable=False),
    Column("agency", String(32), nullable=False, index=True),
    Column("track", String(8), nullable=False),
    Column("sector", String(40), nullable=False),
    Column("language_level", String(16), nullable=False),
    Column("ready_at", UtcDateTime(), nullable=False),
    Column("daily_score_average", Float, nullable=True),
    Column("months_willing_to_stay", Integer, nullable=True),
    # The day the candidate withdrew (CandidateWithdrawn of the same agency and journey). A start
    # of a path claims the row only while it is empty, so a withdrawal at the same moment wins.
    Column("withdrawn_on", Date, nullable=True),
)

waiting_readiness = Table(
    "waiting_readiness",
    metadata,
    # Readiness announced for a candidate none of whose certificates placement holds yet: the
    # certificate comes through another durable and may be behind. Kept here, the latest of
    # each candidate, until a certificate of the same agency and journey arrives and makes the
    # candidate ready (`handlers.on_certificates_passed`, `handlers.ready_the_waiting`).
    Column("candidate_id", Uuid, primary_key=True),
    Column("journey_id", Uuid, nullable=False),
    Column("agency", String(32), nullable=False),
    Column("track", String(8), nullable=False),
    Column("sector", String(40), nullable=False),
    Column("language_level", String(16), nullable=False),
    Column("ready_at", UtcDateTime(), nullable=False),
    Column("daily_score_average", Float, nullable=True),
)

candidate_withdrawals = Table(
    "candidate_withdrawals",
    metadata,
    # Every withdrawal heard, also of candidates placement has not heard of (yet): a readiness
    # arriving later of the same agency and journey finds its candidate withdrawn.
    Column("candidate_id", Uuid, primary_key=True),
    Column("agency", String(32), nullable=False),
    Column("journey_id", Uuid, nullable=False),
    Column("withdrawn_on", Date, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

candidate_certificates = Table(
    "candidate_certificates",
    metadata,
    Column("certificate_id", Uuid, primary_key=True),
    Column("candidate_id", Uuid, nullable=False, index=True),
    Column("test", String(32), nullable=False),
    Column("sector", String(40), nullable=True),
    Column("level", String(8), nullable=True),
    Column("passed_on", Date, nullable=False),
    # Of the CertificatePassed; None on certificates held before they were kept.
    Column("agency", String(32), nullable=True),
    Column("journey_id", Uuid, nullable=True),
)

job_orders = Table(
    "job_orders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("employer", String(200), nullable=False),
    Column("supervising_organisation", String(200), nullable=False),
    Column("prefecture", String(40), nullable=False),
    Column("sector", String(40), nullable=False),
    Column("track", String(8), nullable=False),
    Column("slots", Integer, nullable=False),
    Column("filled", Integer, nullable=False),
    Column("monthly_wage_jpy", Integer, nullable=False),
    Column("contract_months", Integer, nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("minimum_language_level", String(2), nullable=False, server_default="N4"),
    Column("required_certificates", JSON, nullable=False, server_default="[]"),
    Column("interview_date", Date, nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("close_reason", String(500), nullable=True),
    # The service claims slots with a conditional UPDATE; this keeps the books right regardless.
    CheckConstraint("filled >= 0 AND filled <= slots", name="ck_job_orders_filled_within_slots"),
)

placements = Table(
    "placements",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("job_order_id", Uuid, ForeignKey("job_orders.id"), nullable=False, index=True),
    Column("candidate_id", Uuid, nullable=False, index=True),
    Column("journey_id", Uuid, nullable=False),
    Column("agency", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("placed_at", UtcDateTime(), nullable=True),
    Column("departure_date", Date, nullable=True),
    # One slot-holding placement per candidate, even when two requests race.
    Index(
        "uq_placements_one_slot_per_candidate",
        "candidate_id",
        unique=True,
        sqlite_where=text(SLOT_HOLDING),
        postgresql_where=text(SLOT_HOLDING),
    ),
    # One path at a time for a candidate on an order; a failed interview or a return ends it.
    Index(
        "uq_placements_one_path_per_order",
        "job_order_id",
        "candidate_id",
        unique=True,
        sqlite_where=text(NOT_ENDED),
        postgresql_where=text(NOT_ENDED),
    ),
)

placement_steps = Table(
    "placement_steps",
    metadata,
    Column("placement_id", Uuid, ForeignKey("placements.id"), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("happened_on", Date, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("detail", String(200), nullable=True),
)

identity_holds = Table(
    "identity_holds",
    metadata,
    # Candidates the national identity index found registered twice (registration's
    # DuplicateRegistrationFound), until it clears them (CandidateIdentityCleared): neither the
    # earlier (`duplicate`) nor the later (`suspended`) registration may be put on a path.
    # Also of candidates placement has not heard of yet, as withdrawals are. The two events
    # come on two consumers: the later told (`told_at`, the event's time) wins; a cleared
    # candidate keeps its row with no hold.
    Column("candidate_id", Uuid, primary_key=True),
    Column("agency", String(32), nullable=False),
    Column("journey_id", Uuid, nullable=False),
    Column("hold", String(16), nullable=True),
    Column("told_at", UtcDateTime(), nullable=False),
)
