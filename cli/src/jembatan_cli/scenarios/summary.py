"""What a scenario run did, in figures the services' APIs answered. No personal data: people
appear only as candidate and journey ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Refusal:
    rule: str
    count: int
    reason: str
    """The rule's requirement in the registration service's own words."""


@dataclass
class ScenarioSummary:
    scenario: str
    title: str
    agency: str
    track: str
    seed: int
    target: int | None
    applicants: int = 0
    registered: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    enrolled: int = 0
    steered: int = 0
    in_cohorts: int = 0
    cohorts: int = 0
    members_by_mode: dict[str, int] = field(default_factory=dict)
    below_daily_target: int | None = None
    """Members on their cohort's early-warning list (recent average under the daily target)."""
    certificates: dict[str, int] = field(default_factory=dict)
    """Passed tests by kind, e.g. {"JLPT": 30, "SSW_SKILL": 14}."""
    ready: int = 0
    job_orders: int = 0
    slots: int = 0
    shortlisted: int = 0
    interviews_passed: int = 0
    offered: int = 0
    contracts: int = 0
    coe_issued: int = 0
    visas: int = 0
    departed: int = 0
    loans_opened: int = 0
    principal_idr: int = 0
    subsidies_idr: int = 0
    departure_date: date | None = None
    first_due_date: date | None = None
    first_repayments_due: int = 0
    """Loans whose first instalment the financing service has announced as due."""
    first_payments: int = 0
    candidate_ids: list[str] = field(default_factory=list)
    journey_ids: list[str] = field(default_factory=list)
    job_order_ids: list[str] = field(default_factory=list)
    loan_ids: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def refused(self) -> int:
        return self.applicants - self.registered

    def funnel(self) -> list[tuple[str, int]]:
        """How many reached each stage, in the order of the journey."""
        return [
            ("applied", self.applicants),
            ("registered", self.registered),
            ("enrolled in training", self.enrolled),
            ("in a class", self.in_cohorts),
            ("ready for placement", self.ready),
            ("shortlisted", self.shortlisted),
            ("passed the interview", self.interviews_passed),
            ("contract signed", self.contracts),
            ("Certificate of Eligibility", self.coe_issued),
            ("visa", self.visas),
            ("departed", self.departed),
            ("loan opened", self.loans_opened),
            ("first repayment due", self.first_repayments_due),
            ("first repayment paid", self.first_payments),
        ]


def format_summary(summary: ScenarioSummary) -> str:
    """The summary as plain text for a terminal or a log."""
    lines = [
        f"{summary.title}  (scenario {summary.scenario}, agency {summary.agency}, "
        f"{summary.track}, seed {summary.seed}, {summary.elapsed_s:.0f} s)",
        "",
    ]
    top = max(summary.applicants, 1)
    for label, count in summary.funnel():
        bar = "#" * round(30 * count / top)
        lines.append(f"  {label:<28} {count:>6}  {bar}")
    lines.append("")
    if summary.refusals:
        lines.append(f"  Registrations refused: {summary.refused}")
        for refusal in summary.refusals:
            lines.append(f"    {refusal.count:>4} x {refusal.rule}: {refusal.reason}")
    modes = ", ".join(f"{count} {mode}" for mode, count in summary.members_by_mode.items())
    lines.append(
        f"  Training: {_count(summary.cohorts, 'class', 'classes')} ({modes}); "
        f"{summary.steered} steered to another sector (penjurusan)"
    )
    if summary.below_daily_target is not None:
        lines.append(f"  Below the daily score target: {summary.below_daily_target}")
    certificates = ", ".join(f"{test} {count}" for test, count in summary.certificates.items())
    lines.append(f"  Certificates passed: {certificates or 'none'}")
    lines.append(
        f"  Job orders: {summary.job_orders} with {_count(summary.slots, 'slot', 'slots')}"
    )
    lines.append(
        f"  Loans opened: {summary.loans_opened}, principal Rp{summary.principal_idr:,}, "
        f"subsidies Rp{summary.subsidies_idr:,}"
    )
    if summary.first_due_date:
        lines.append(
            f"  Departed on {summary.departure_date}; first repayments due on "
            f"{summary.first_due_date}: {summary.first_repayments_due}; paid on the day: "
            f"{summary.first_payments}"
        )
    if summary.target:
        share = 100 * summary.departed / summary.target
        lines.append(
            f"  Departures against the programme's target of {summary.target:,}: "
            f"{summary.departed} ({share:.2f} %)"
        )
    return "\n".join(lines)


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"
