"""The figures the dashboard shows, computed from the read model when asked.

- Funnel: the candidates registered in the year (the year's intake), by the furthest stage each
  has reached, and where those still on their way stand now.
- Target: the departures of the year's intake against the agency's departure target for that
  year (a programme year: candidates recruited in 2026 who depart in early 2027 count for 2026).
- Departures per month over the twelve months to today, whatever year the candidates registered.
- Drop-outs of the year's intake, by the stage they were at and the reason.
- Cohorts whose members' recent daily scores average below the daily target (scores of the year).
- Loans in arrears now (the dashboard's clock), by days past due.
- The funder's losses: what was written off in the year, per agency and reason, and the loans
  now awaiting a decision because no schedule within the contract fits the wage.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..adapters.orm import (
    candidates,
    daily_scores,
    decisions_needed,
    drop_outs,
    loans,
    national_checks,
    payments,
    repayments_due,
    restructurings,
    write_offs,
)
from ..domain.arrears import ARREARS_BUCKETS, Announced, Paid, arrears_of_loan, paused_on
from ..domain.cohorts import ScoredDay, cohorts_below_target
from ..domain.programmes import programme_of
from ..domain.stages import (
    STAGES,
    DropOutKind,
    Stage,
    furthest_stage,
    has_reached,
    stage_left_at,
)
from ..domain.targets import Targets

NATIONAL = "kemnaker"


@dataclass(frozen=True)
class Scope:
    """Whose figures: one agency, or every agency (`agency` None, Kemnaker's national view)."""

    agency: str | None
    programme: str | None = None

    def covers(self, agency: str, track: str | None) -> bool:
        if self.agency is not None and agency != self.agency:
            return False
        return self.programme is None or programme_of(track) == self.programme


@dataclass(frozen=True)
class ScoreRule:
    target: int
    window: int


def _reached(row: Any) -> dict[Stage, date | None]:
    return {stage: getattr(row, f"{stage.value}_on") for stage in STAGES}


def _by_agency(query: Any, column: Any, scope: Scope) -> Any:
    """`query` (a select or a condition) limited to the scope's agency, if it names one."""
    if scope.agency is None:
        return query
    if isinstance(query, Select):
        return query.where(column == scope.agency)
    return and_(query, column == scope.agency)


async def funnel(
    session: AsyncSession,
    scope: Scope,
    year: int,
    today: date,
    targets: Targets,
    scores: ScoreRule,
) -> dict[str, Any]:
    rows = [
        row
        for row in (
            await session.execute(_by_agency(select(candidates), candidates.c.agency, scope))
        )
        if scope.covers(row.agency, row.track)
    ]
    by_id = {row.candidate_id: row for row in rows}
    intake = [row for row in rows if row.registered_on and row.registered_on.year == year]

    reached: Counter[Stage] = Counter()
    now_at: Counter[Stage] = Counter()
    by_programme: dict[tuple[str, str], Counter[Stage]] = defaultdict(Counter)
    for row in intake:
        furthest = furthest_stage(_reached(row))
        for stage in STAGES:
            if has_reached(furthest, stage):
                reached[stage] += 1
                by_programme[(row.agency, programme_of(row.track))][stage] += 1
        if furthest is not None and row.withdrawn_on is None and row.returned_on is None:
            now_at[furthest] += 1

    months = last_twelve_months(today)
    departures = Counter(
        (row.departed_on.year, row.departed_on.month) for row in rows if row.departed_on
    )
    target_agency = scope.agency or NATIONAL
    target = targets.for_year(target_agency, year)
    return {
        "scope": {"agency": scope.agency, "programme": scope.programme, "year": year},
        "as_of": today.isoformat(),
        "stages": [
            {"stage": stage.value, "reached": reached[stage], "now_at": now_at[stage]}
            for stage in STAGES
        ],
        "by_programme": [
            {
                "agency": agency,
                "programme": programme,
                "reached": {stage.value: counts[stage] for stage in STAGES},
            }
            for (agency, programme), counts in sorted(by_programme.items())
        ],
        "target": {
            "agency": target_agency,
            "departures_target": target.departures if target else None,
            "source": target.source if target else None,
            "departed": reached[Stage.DEPARTED],
        },
        "departures_by_month": [
            {"month": f"{y}-{m:02d}", "departed": departures[(y, m)]} for y, m in months
        ],
        "drop_outs": await _drop_outs(session, scope, {row.candidate_id: row for row in intake}),
        "national_checks": await _national_checks(session, scope, by_id),
        "daily_score": {"target": scores.target, "window": scores.window},
        "cohorts_below_target": await _cohorts(session, scope, by_id, year, scores),
        "arrears": await _arrears(session, scope, by_id, today),
        "funder_losses": await _funder_losses(session, scope, by_id, year),
    }


NATIONAL_CHECKS_SHOWN = ("provisional", "duplicate", "suspended")


async def _national_checks(
    session: AsyncSession, scope: Scope, by_id: dict[Any, Any]
) -> dict[str, int]:
    """Active registrations the national identity index has not cleared, now: provisional
    (registered while the link to the hub was down), and the two of a person registered twice
    (the earlier held, the later suspended). A withdrawn candidate is no longer counted."""
    counts = dict.fromkeys(NATIONAL_CHECKS_SHOWN, 0)
    rows = await session.execute(
        _by_agency(
            select(national_checks).where(national_checks.c.standing.in_(NATIONAL_CHECKS_SHOWN)),
            national_checks.c.agency,
            scope,
        )
    )
    for row in rows:
        known = by_id.get(row.candidate_id)
        if known is not None and known.withdrawn_on is None:
            counts[row.standing] += 1
    return counts


def last_twelve_months(today: date) -> list[tuple[int, int]]:
    """(year, month) of the twelve months up to and including today's, oldest first."""
    index = today.year * 12 + today.month - 1
    return [(i // 12, i % 12 + 1) for i in range(index - 11, index + 1)]


async def _drop_outs(
    session: AsyncSession, scope: Scope, intake: dict[uuid.UUID, Any]
) -> list[dict[str, Any]]:
    counted: Counter[tuple[str, str, str]] = Counter()
    query = _by_agency(select(drop_outs), drop_outs.c.agency, scope)
    for row in await session.execute(query):
        candidate = intake.get(row.candidate_id)
        if candidate is None:
            continue
        stage = stage_left_at(DropOutKind(row.kind), _reached(candidate), row.day)
        counted[(stage.value, row.kind, row.reason)] += 1
    order = {stage.value: index for index, stage in enumerate(STAGES)}
    return [
        {"stage": stage, "kind": kind, "reason": reason, "count": count}
        for (stage, kind, reason), count in sorted(
            counted.items(), key=lambda item: (order[item[0][0]], item[0][1], item[0][2])
        )
    ]


async def _cohorts(
    session: AsyncSession,
    scope: Scope,
    by_id: dict[uuid.UUID, Any],
    year: int,
    scores: ScoreRule,
) -> list[dict[str, Any]]:
    query = _by_agency(
        select(daily_scores).where(daily_scores.c.cohort_id.is_not(None)),
        daily_scores.c.agency,
        scope,
    )
    scored = [
        ScoredDay(
            row.cohort_id,
            row.cohort_name or "",
            row.training_centre or "",
            row.candidate_id,
            row.day,
            row.score,
        )
        for row in await session.execute(query)
        if row.day.year == year
        and row.candidate_id in by_id
        and by_id[row.candidate_id].withdrawn_on is None
    ]
    return [
        {
            "cohort_id": str(c.cohort_id),
            "cohort": c.cohort_name,
            "training_centre": c.training_centre,
            "average": c.average,
            "target": c.target,
            "members": c.members,
            "members_below": c.members_below,
        }
        for c in cohorts_below_target(scored, scores.target, scores.window)
    ]


async def _arrears(
    session: AsyncSession, scope: Scope, by_id: dict[uuid.UUID, Any], today: date
) -> dict[str, Any]:
    in_scope = _by_agency(
        loans.c.settled_on.is_(None) & loans.c.closed_on.is_(None), loans.c.agency, scope
    )
    open_loans = {
        row.loan_id: row
        for row in await session.execute(select(loans).where(in_scope))
        if row.candidate_id in by_id
    }

    def of_open_loans(table: Any) -> Select[Any]:
        return select(table).join(loans, loans.c.loan_id == table.c.loan_id).where(in_scope)

    announced: dict[uuid.UUID, list[Announced]] = defaultdict(list)
    for row in await session.execute(of_open_loans(repayments_due)):
        if row.loan_id in open_loans:
            announced[row.loan_id].append(
                Announced(
                    row.instalment_number,
                    row.due_date,
                    row.amount_idr,
                    row.scheduled_amount_idr,
                )
            )
    paid: dict[uuid.UUID, list[Paid]] = defaultdict(list)
    for row in await session.execute(of_open_loans(payments)):
        if row.loan_id in open_loans:
            paid[row.loan_id].append(
                Paid(
                    row.amount_idr,
                    tuple(row.instalment_numbers),
                    row.paid_on or row.recorded_at.date(),
                    None
                    if row.allocations is None
                    else tuple((number, amount) for number, amount in row.allocations),
                )
            )
    restructured: dict[uuid.UUID, list[date]] = defaultdict(list)
    for row in await session.execute(of_open_loans(restructurings)):
        restructured[row.loan_id].append(row.first_due_date or row.restructured_at.date())

    loans_in: Counter[str] = Counter()
    amount_in: Counter[str] = Counter()
    for loan_id, loan in open_loans.items():
        arrears = arrears_of_loan(
            announced[loan_id],
            paid[loan_id],
            restructured[loan_id],
            today,
            paused_on=paused_on(by_id[loan.candidate_id].returned_on, restructured[loan_id]),
        )
        if arrears.amount_idr:
            loans_in[arrears.bucket] += 1
            amount_in[arrears.bucket] += arrears.amount_idr
    return {
        "open_loans": len(open_loans),
        "buckets": [
            {"bucket": bucket.value, "loans": loans_in[bucket], "amount_idr": amount_in[bucket]}
            for bucket in ARREARS_BUCKETS
        ],
    }


async def _funder_losses(
    session: AsyncSession, scope: Scope, by_id: dict[uuid.UUID, Any], year: int
) -> dict[str, Any]:
    """What the funder wrote off in `year`, per agency and reason (loans and rupiah), and the
    loans awaiting a decision now, per agency, with what is owed on them: as financing asked,
    less what the funder wrote off since (subsidies publish no event). A loan awaits until its
    schedule is fixed, it is restructured after an early return, settled or closed."""
    written = _by_agency(
        select(write_offs, loans.c.agency, loans.c.candidate_id)
        .join(loans, loans.c.loan_id == write_offs.c.loan_id)
        .where(write_offs.c.written_off_on.between(date(year, 1, 1), date(year, 12, 31))),
        loans.c.agency,
        scope,
    )
    written_off_loans: dict[tuple[str, str], set[uuid.UUID]] = defaultdict(set)
    written_off_idr: Counter[tuple[str, str]] = Counter()
    for row in await session.execute(written):
        if row.candidate_id in by_id:
            written_off_loans[(row.agency, row.reason)].add(row.loan_id)
            written_off_idr[(row.agency, row.reason)] += row.amount_idr

    decided = (
        loans.c.settled_on.is_not(None)
        | loans.c.closed_on.is_not(None)
        | loans.c.schedule_fixed_on.is_not(None)
        | exists().where(restructurings.c.loan_id == decisions_needed.c.loan_id)
    )
    waiting = _by_agency(
        select(decisions_needed, loans.c.agency, loans.c.candidate_id)
        .join(loans, loans.c.loan_id == decisions_needed.c.loan_id)
        .where(~decided),
        loans.c.agency,
        scope,
    )
    awaiting = {
        row.loan_id: row for row in await session.execute(waiting) if row.candidate_id in by_id
    }
    written_off_since: Counter[uuid.UUID] = Counter()
    if awaiting:
        of_waiting = select(write_offs).where(write_offs.c.loan_id.in_(awaiting))
        for row in await session.execute(of_waiting):
            written_off_since[row.loan_id] += row.amount_idr
    awaiting_loans: Counter[str] = Counter()
    awaiting_owed: Counter[str] = Counter()
    for loan_id, row in awaiting.items():
        awaiting_loans[row.agency] += 1
        awaiting_owed[row.agency] += max(row.owed_idr - written_off_since[loan_id], 0)

    return {
        "written_off": [
            {
                "agency": agency,
                "reason": reason,
                "loans": len(written_off_loans[(agency, reason)]),
                "amount_idr": written_off_idr[(agency, reason)],
            }
            for agency, reason in sorted(written_off_loans)
        ],
        "written_off_total": {
            "loans": len(set().union(*written_off_loans.values())),
            "amount_idr": sum(written_off_idr.values()),
        },
        "awaiting_decision": [
            {"agency": agency, "loans": awaiting_loans[agency], "owed_idr": awaiting_owed[agency]}
            for agency in sorted(awaiting_loans)
        ],
        "awaiting_decision_total": {
            "loans": len(awaiting),
            "owed_idr": sum(awaiting_owed.values()),
        },
    }


async def known_agencies(session: AsyncSession) -> list[str]:
    """The agencies whose candidates the read model holds, for Kemnaker's agency picker."""
    found = await session.scalars(select(candidates.c.agency).distinct())
    return sorted(found)


async def known_years(session: AsyncSession, this_year: int) -> list[int]:
    days = await session.scalars(select(candidates.c.registered_on).distinct())
    return sorted({day.year for day in days if day is not None} | {this_year}, reverse=True)
