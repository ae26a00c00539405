"""The shape of a scenario: one programme from the source articles, as data."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Region:
    """A regency or city (kabupaten/kota) whose NIKs the scenario's people carry."""

    code: str
    """Province and regency, e.g. 3309 for Kabupaten Boyolali (provinces.csv gives the province)."""
    name: str
    districts: int
    """Districts (kecamatan) are numbered 01 to this."""


@dataclass(frozen=True)
class StagePlan:
    centre: str
    months: int


@dataclass(frozen=True)
class Steering:
    """Penjurusan: a share of those who prefer one sector are steered to another, with why."""

    from_sector: str
    to_sector: str
    share: float
    reason: str


@dataclass(frozen=True)
class JobOrderPlan:
    employer: str
    supervising_organisation: str
    prefecture: str
    sector: str
    monthly_wage_jpy: int
    contract_months: int
    required_certificates: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubsidyPlan:
    provider: str
    item: str
    amount_idr: int


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: str
    """The source article, ../shared/seeds/<seed>_*.txt."""
    title: str
    story: str
    agency: str
    programme: str
    track: str
    regions: tuple[Region, ...]
    sectors: dict[str, float]
    """Preferred sectors at registration and their shares."""
    size: int
    """Applicants in a default (small) run."""
    full_size: int
    """Applicants in the real programme's year; --scale is a share of it."""
    training_centre: str
    stages: tuple[StagePlan, ...]
    job_orders: tuple[JobOrderPlan, ...]
    education: dict[str, float] = field(default_factory=lambda: {"SMK": 0.6, "SMA": 0.4})
    female_share: float = 0.3
    target: int | None = None
    """Departures the programme aims for in the year."""
    ineligible_share: float = 0.0
    """Applicants the registration rules refuse at selection (outside the track's ages)."""
    steering: tuple[Steering, ...] = ()
    modes: dict[str, float] = field(default_factory=lambda: {"offline": 1.0})
    cohort_capacity: int = 16
    cohorts_by_sector: bool = False
    language_pass_rate: float = 0.9
    skill_pass_rate: float = 1.0
    """SSW: the sector skill test (and, for caregivers, the nursing-care Japanese test)."""
    daily_score_days: int = 0
    daily_score_mean: int = 84
    interview_pass_rate: float = 1.0
    commitment_months: tuple[int, int] | None = None
    """How long candidates say they will stay (employers favour longer), lowest to highest."""
    subsidies: tuple[SubsidyPlan, ...] = ()
    first_payment_share: float = 0.8
    """Share of the departed who pay their first instalment on its due date."""
    registration: str = "bulk"
    """How applicants reach registration: "bulk" (a labour office's spreadsheet as CSV) or
    "one-by-one" (referrals registered one at a time)."""

    @property
    def min_age_years(self) -> float:
        return 18.0

    @property
    def max_age_years(self) -> float:
        """Inside the track's upper age (TITP 26); SSW has none, so a working age."""
        return 25.5 if self.track == "TITP" else 30.0
