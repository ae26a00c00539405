"""Training's use cases, each written once over a list of items.

A handler loads what its whole list needs from the repository (a few queries, whatever the
list's length), applies the aggregates' rules to each item in order, saves once and answers
each item with its id (or what the caller shows of it) or its refusal. A single HTTP request is
a list of one; a results file and a consumer's batch are longer lists through the same handler.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from jembatan_contracts import (
    CandidateIdentityCleared,
    CandidateRegistered,
    CandidateWithdrawn,
    DuplicateRegistrationFound,
)
from jembatan_contracts.ids import new_id
from jembatan_kit.clock import Clock
from jembatan_kit.consumer import RetryLater, Unprocessable
from jembatan_kit.errors import NotFound, RuleViolation

from ..adapters.repository import Repository, ResultsImport
from ..domain.cohorts import Cohort, CreateCohort
from ..domain.commands import (
    AssignMember,
    ChangeSector,
    ImportResults,
    LeaveCohort,
    RecordCandidateResult,
    RecordDailyScore,
)
from ..domain.enrolment import (
    LEFT,
    WITHDRAWN,
    Enrolment,
    Recorded,
    SectorChanged,
    enrolled,
    not_in_cohort,
)
from .outcomes import Outcome, each

RULE_COLUMNS = {
    "issuer_present": "issuer",
    "taken_on_not_in_future": "taken_on",
    "jlpt_level": "level",
    "jft_basic_score": "score",
    "ssw_skill_sector": "sector",
    "passed_flag": "passed",
    "passed_flag_matches_score": "passed",
    "candidate_not_enrolled": "candidate_id",
    "candidate_withdrawn": "candidate_id",
}
"""Which column of a results file to fix when a rule refuses a line."""


async def enrol_candidates(
    registrations: Sequence[CandidateRegistered], repo: Repository, clock: Clock
) -> list[uuid.UUID]:
    """Enrol each candidate in training for their preferred sector, once per candidate.

    The root of a journey: training holds nothing earlier to check it against. What vouches for
    it is its sender: the consumer has checked that its subject is its agency's and that the
    agency is one this deployment knows, and the bus lets only that agency's registration
    publish under its prefix (docs/security.md, threat model)."""
    now = clock.now()
    known = await repo.get_many([r.candidate_id for r in registrations])
    for registered in registrations:
        if registered.candidate_id not in known:
            enrolment = known[registered.candidate_id] = Enrolment.enrol(registered, now)
            repo.add(enrolment)
    await repo.save()
    return [registered.candidate_id for registered in registrations]


async def withdraw_candidates(
    withdrawals: Sequence[CandidateWithdrawn], repo: Repository, clock: Clock
) -> list[uuid.UUID | RetryLater | Unprocessable]:
    """The enrolment ends and the candidate's cohort seat is freed. A withdrawal that overtook
    the registration waits for it; one that names another agency than the candidate's is
    refused as forged."""
    now = clock.now()
    members = await repo.get_many([w.candidate_id for w in withdrawals], seats=True)
    cohorts = await repo.get_cohorts(_seated_in(members.values()))
    outcomes: list[uuid.UUID | RetryLater | Unprocessable] = []
    for withdrawn in withdrawals:
        member = members.get(withdrawn.candidate_id)
        if member is None:
            outcomes.append(RetryLater(f"candidate {withdrawn.candidate_id} is not enrolled yet"))
            continue
        try:
            ended = member.withdraw(withdrawn)
        except RuleViolation as refusal:
            outcomes.append(Unprocessable(str(refusal)))
            continue
        if ended and member.cohort_id is not None:
            cohorts[member.cohort_id].release(member, WITHDRAWN, now)
        outcomes.append(member.candidate_id)
    await repo.save()
    return outcomes


async def hold_duplicates(
    found: Sequence[DuplicateRegistrationFound], repo: Repository, clock: Clock
) -> list[uuid.UUID | RetryLater]:
    """The national identity index found another active registration of each candidate's
    person: no readiness for placement is declared while it stands. One that overtook the
    registration waits for it."""
    members = await repo.get_many([f.candidate_id for f in found])
    outcomes: list[uuid.UUID | RetryLater] = []
    for event in found:
        member = members.get(event.candidate_id)
        if member is None:
            outcomes.append(RetryLater(f"candidate {event.candidate_id} is not enrolled yet"))
            continue
        member.hold_for_identity(event)
        outcomes.append(member.candidate_id)
    await repo.save()
    return outcomes


async def clear_identities(
    cleared: Sequence[CandidateIdentityCleared], repo: Repository, clock: Clock
) -> list[uuid.UUID | RetryLater]:
    """The national identity index cleared each candidate: readiness is judged again, and
    announced when the results are in."""
    now = clock.now()
    members = await repo.get_many([c.candidate_id for c in cleared], results=True)
    outcomes: list[uuid.UUID | RetryLater] = []
    for event in cleared:
        member = members.get(event.candidate_id)
        if member is None:
            outcomes.append(RetryLater(f"candidate {event.candidate_id} is not enrolled yet"))
            continue
        member.clear_identity(event, now)
        outcomes.append(member.candidate_id)
    await repo.save()
    return outcomes


async def record_results(
    commands: Sequence[RecordCandidateResult], repo: Repository, clock: Clock
) -> list[Outcome[Recorded]]:
    """Grade and keep each test result; passes are announced, and so is readiness, once."""
    now = clock.now()
    candidates = await repo.get_many([c.candidate_id for c in commands], results=True)
    outcomes = each(
        commands, lambda c: enrolled(candidates, c.candidate_id).record_result(c.result, now)
    )
    await repo.save()
    return outcomes


async def import_results(
    results_file: ImportResults, repo: Repository, clock: Clock
) -> ResultsImport:
    """A test centre's results file: each readable line through `record_results`, so by the
    same rules and with the same events; a bad line never blocks the good ones. The same file
    imported twice records nothing twice: the second import answers with the first's outcome."""
    import_id = new_id()
    # Claimed first: a second import of the file, even a concurrent one, finds the claim.
    earlier = await repo.claim_import(import_id, results_file.sha256, clock.now())
    if earlier is not None:
        return earlier
    readable = [
        line.command
        for line in results_file.lines
        if isinstance(line.command, RecordCandidateResult)
    ]
    recorded = iter(await record_results(readable, repo, clock))
    rows: list[dict[str, Any]] = []
    for line in results_file.lines:
        row: dict[str, Any] = {"line": line.number, "candidate_id": line.candidate_id or None}
        if not isinstance(line.command, RecordCandidateResult):
            error = {
                "rule": "bulk_row",
                "column": line.command.column,
                "message": str(line.command),
            }
            rows.append(row | {"status": "refused", "errors": [error]})
            continue
        outcome = next(recorded)
        if isinstance(outcome, RuleViolation):
            rows.append(row | {"status": "refused", "errors": _errors(outcome)})
            continue
        rows.append(
            row
            | {
                "status": "accepted",
                "result_id": str(outcome.result_id),
                "passed": outcome.passed,
                "became_ready": outcome.became_ready,
            }
        )
    accepted = sum(1 for row in rows if row["status"] == "accepted")
    imported = ResultsImport(import_id, accepted, len(rows) - accepted, rows, replayed=False)
    await repo.finish_import(imported)
    return imported


async def change_sectors(
    commands: Sequence[ChangeSector], repo: Repository, clock: Clock
) -> list[Outcome[SectorChanged]]:
    """Penjurusan: steer each candidate to a sector, judging readiness again on it."""
    now = clock.now()
    candidates = await repo.get_many([c.candidate_id for c in commands], results=True)
    outcomes = each(
        commands,
        lambda c: enrolled(candidates, c.candidate_id).change_sector(c.sector, c.reason, now),
    )
    await repo.save()
    return outcomes


async def record_daily_scores(
    commands: Sequence[RecordDailyScore], repo: Repository, clock: Clock
) -> list[Outcome[bool]]:
    """Keep each day's score (a second score of the same day replaces the first) and publish it
    with the candidate's cohort; per item, whether it replaced one."""
    now = clock.now()
    candidates = await repo.get_many(
        [c.candidate_id for c in commands], seats=True, scored_days=True
    )
    outcomes = each(
        commands,
        lambda c: enrolled(candidates, c.candidate_id).record_daily_score(c.score, now),
    )
    await repo.save()
    return outcomes


async def create_cohorts(
    commands: Sequence[CreateCohort], repo: Repository, clock: Clock
) -> list[Outcome[uuid.UUID]]:
    now = clock.now()

    def create(command: CreateCohort) -> uuid.UUID:
        cohort = Cohort.open(command, now)
        repo.add(cohort)
        return cohort.cohort_id

    outcomes = each(commands, create)
    await repo.save()
    return outcomes


async def assign_members(
    commands: Sequence[AssignMember], repo: Repository, clock: Clock
) -> list[Outcome[uuid.UUID]]:
    """Seat each candidate in a cohort, or move them there from theirs; per item, the cohort."""
    now = clock.now()
    members = await repo.get_many([c.candidate_id for c in commands], seats=True)
    cohorts = await repo.get_cohorts({c.cohort_id for c in commands} | _seated_in(members.values()))

    def assign(command: AssignMember) -> uuid.UUID:
        member = enrolled(members, command.candidate_id)
        member.ensure_active()
        cohort = cohorts.get(command.cohort_id)
        if cohort is None:
            raise NotFound("cohort", command.cohort_id)
        current = cohorts.get(member.cohort_id) if member.cohort_id else None
        cohort.assign(member, now, move=command.move, current=current)
        return cohort.cohort_id

    outcomes = each(commands, assign)
    await repo.save()
    return outcomes


async def leave_cohorts(
    commands: Sequence[LeaveCohort], repo: Repository, clock: Clock
) -> list[Outcome[uuid.UUID]]:
    """Each candidate leaves the cohort they sit in; per item, the cohort."""
    now = clock.now()
    members = await repo.get_many([c.candidate_id for c in commands], seats=True)
    cohorts = await repo.get_cohorts(_seated_in(members.values()))

    def leave(command: LeaveCohort) -> uuid.UUID:
        member = members.get(command.candidate_id)
        if member is None:
            raise NotFound("candidate", command.candidate_id)
        cohort = cohorts.get(command.cohort_id)
        if cohort is None:
            raise not_in_cohort(command.candidate_id, command.cohort_id)
        cohort.release(member, LEFT, now)
        return cohort.cohort_id

    outcomes = each(commands, leave)
    await repo.save()
    return outcomes


def _seated_in(members: Any) -> set[uuid.UUID]:
    return {member.cohort_id for member in members if member.cohort_id is not None}


def _errors(refusal: RuleViolation) -> list[dict[str, str | None]]:
    failed = refusal.details.get("failed_rules")
    checks = (
        failed if isinstance(failed, list) else [{"rule": refusal.rule, "message": refusal.message}]
    )
    return [
        {
            "rule": check["rule"],
            "column": RULE_COLUMNS.get(check["rule"]),
            "message": check["message"],
        }
        for check in checks
    ]
