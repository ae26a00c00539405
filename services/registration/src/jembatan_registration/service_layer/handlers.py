"""Registration's write use cases, each once and set-based: a handler takes a list of commands,
applies the rules to each in order (the same refusals for a list of one as for a file of
thousands), and answers each with its id or its refusal. The single HTTP endpoints pass a list of
one and raise its refusal (`raise_if_refused`); a CSV upload passes its rows (`uploads`).

A handler loads what the list needs from the repository in a few queries, lets the aggregates
decide and record their events, and saves them all at once; a candidate that a request at the
same moment won is answered with a refusal of its own (`WriteConflicts`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from jembatan_contracts.identity import Standing
from jembatan_kit.clock import Clock
from jembatan_kit.errors import Conflict, NotFound, RuleViolation

from ..adapters.national_index import IndexUnavailable, NationalIndex, Person
from ..adapters.repository import RegistrationRepository
from ..domain.candidate import Candidate
from ..domain.duplicates import (
    REFUSAL_WINDOW,
    ActiveRegistration,
    ActiveRegistrations,
    RefusalBudget,
    RegisteredElsewhere,
    RegisteredNationally,
    Registrar,
    already_registered,
)
from ..domain.model import (
    CandidateStatus,
    CorrectCandidate,
    Decision,
    NationalCheck,
    RegisterCandidate,
    UnreadableRegistration,
    WithdrawCandidate,
)


@dataclass(frozen=True)
class Refused:
    refusal: RuleViolation


@dataclass(frozen=True)
class Registered:
    candidate_id: uuid.UUID
    journey_id: uuid.UUID
    decision: Decision
    national_check: NationalCheck = NationalCheck.CLEARED


@dataclass(frozen=True)
class Corrected:
    candidate_id: uuid.UUID
    warnings: list[str]


Answer = TypeVar("Answer")


def raise_if_refused(outcome: Answer | Refused) -> Answer:
    """The answer to a command, or its refusal raised (for an endpoint serving one command)."""
    if isinstance(outcome, Refused):
        raise outcome.refusal
    return outcome


async def register_candidates(
    commands: Sequence[RegisterCandidate | UnreadableRegistration],
    repo: RegistrationRepository,
    clock: Clock,
    registrar: Registrar,
    index: NationalIndex | None = None,
    *,
    dry_run: bool = False,
) -> list[Registered | Refused]:
    """Register each candidate by the rules in force, in order. A NIK registered with another
    agency refuses its candidate saying only that (`RegisteredElsewhere`), logged for the agency
    holding it; once the registrar reaches the day's limit of such refusals, every command after
    is refused as paused, and a registrar already there has the whole list refused (429), so a
    list of guessed NIKs cannot be used to learn which are registered.

    The national identity index (`index`) is then asked about the candidates this service
    accepted, all at once: a person it holds for another agency's registration is refused as
    one registered elsewhere here would be (`RegisteredNationally`). When it cannot be asked,
    they are accepted as provisional (`Candidate.await_national_check`), and the index hears of
    them later (`inform_index`). Without an index (unit tests of the local rules) the local
    rule is the only one.

    A `dry_run` judges each command by the same rules and answers as a registration would,
    then keeps nothing: no candidate, no event, no claim at the national identity index, no
    entry in the NIK read log. So it cannot tell a registrar that a NIK is registered with
    another agency (that answer is logged and counted, see `RegisteredElsewhere`): it judges
    the one-active-registration rule against the registrar's own agencies' candidates only,
    and the real registration judges it whole."""
    now = clock.now()
    budget = await _refusal_budget(repo, registrar, now)
    if budget.exhausted:
        raise budget.paused()
    niks = {command.nik for command in commands if isinstance(command, RegisterCandidate)}
    holders = await repo.active_registrations(niks)
    if dry_run:
        own = {command.agency for command in commands if isinstance(command, RegisterCandidate)}
        holders = {nik: held for nik, held in holders.items() if held.agency in own}
    active = ActiveRegistrations(holders)
    outcomes: list[Registered | Refused] = []
    fresh: list[tuple[int, Candidate]] = []
    for command in commands:
        if budget.exhausted:
            outcomes.append(Refused(budget.paused()))
            continue
        try:
            if isinstance(command, UnreadableRegistration):
                raise command.refusal
            candidate, decision = Candidate.register(command, now, active)
        except RuleViolation as refusal:
            budget.spend(refusal)
            outcomes.append(Refused(refusal))
            continue
        fresh.append((len(outcomes), candidate))
        outcomes.append(Registered(candidate.id, candidate.journey_id, decision))
    if dry_run:
        return outcomes
    if index is not None and fresh:
        fresh = await _checked_nationally(fresh, outcomes, index, active, budget)
    for position, candidate in fresh:
        repo.add(candidate)
        registered = outcomes[position]
        assert isinstance(registered, Registered)
        outcomes[position] = replace(registered, national_check=candidate.national_check)
    conflicts = await repo.save()
    lost = {
        position: command
        for position, (command, outcome) in enumerate(zip(commands, outcomes, strict=True))
        if isinstance(outcome, Registered)
        and isinstance(command, RegisterCandidate)
        and outcome.candidate_id in conflicts.nik_taken
    }
    if lost:
        holders = await repo.active_registrations({command.nik for command in lost.values()})
        for position, command in lost.items():
            taken = already_registered(holders.get(command.nik), command.agency)
            budget.spend(taken)
            outcomes[position] = Refused(taken)
        if index is not None:
            await _release_quietly(index, [conflict for conflict in conflicts.nik_taken])
            await _record_winners_quietly(index, repo, holders.values())
    await log_refusals_elsewhere(repo, outcomes, registrar, now)
    return outcomes


async def _record_winners_quietly(
    index: NationalIndex, repo: RegistrationRepository, winners: Iterable[ActiveRegistration]
) -> None:
    """Record again at the index the registrations that won a NIK at this service's commit. The
    losers' claims took the person from them there (an agency's own claims give way to each
    other) and were released since. If the index cannot be asked, the winners are sent again
    with the next rebuild, as every active registration is."""
    found = await repo.get_many({winner.candidate_id for winner in winners})
    people = [Person(c.id, c.agency, c.nik, c.registered_at) for c in found.values()]
    if people:
        with contextlib.suppress(IndexUnavailable):
            await index.claim("record", people)


async def _checked_nationally(
    fresh: list[tuple[int, Candidate]],
    outcomes: list[Registered | Refused],
    index: NationalIndex,
    active: ActiveRegistrations,
    budget: RefusalBudget,
) -> list[tuple[int, Candidate]]:
    """The new candidates the national identity index does not refuse, in order; each refused
    one's outcome replaced by its refusal. Refusals count against the registrar's limit as local
    ones do; once it is reached, the candidates after are refused as paused and released at the
    index again, so a file of guessed NIKs learns no more nationally than locally."""
    people = [
        Person(candidate.id, candidate.agency, candidate.nik, candidate.registered_at)
        for _, candidate in fresh
    ]
    try:
        standings = await index.claim("check", people)
    except IndexUnavailable:
        for _, candidate in fresh:
            candidate.await_national_check()
        return fresh
    kept: list[tuple[int, Candidate]] = []
    paused: list[uuid.UUID] = []
    for (position, candidate), standing in zip(fresh, standings, strict=True):
        if budget.exhausted:
            outcomes[position] = Refused(budget.paused())
            active.release(candidate.nik)
            paused.append(candidate.id)
        elif standing is Standing.HELD_ELSEWHERE:
            refusal = RegisteredNationally()
            budget.spend(refusal)
            outcomes[position] = Refused(refusal)
            active.release(candidate.nik)
        else:
            kept.append((position, candidate))
    await _release_quietly(index, paused)
    return kept


async def _release_quietly(index: NationalIndex, candidate_ids: Sequence[uuid.UUID]) -> None:
    """Release claims the index recorded for candidates this service did not keep after all. If
    the index cannot be asked, the claim stays until the index is rebuilt (docs/identity-index.md,
    "Rebuild")."""
    if candidate_ids:
        with contextlib.suppress(IndexUnavailable):
            await index.release(candidate_ids)


async def withdraw_candidates(
    commands: Sequence[WithdrawCandidate], repo: RegistrationRepository, clock: Clock
) -> list[uuid.UUID | Refused]:
    """Withdraw each candidate; the withdrawn may register again later."""
    now = clock.now()
    candidates = await repo.get_many({command.candidate_id for command in commands})
    outcomes: list[uuid.UUID | Refused] = []
    for command in commands:
        try:
            candidate = _found(candidates, command.candidate_id)
            candidate.withdraw(command.reason, command.note, now)
        except RuleViolation as refusal:
            outcomes.append(Refused(refusal))
            continue
        outcomes.append(candidate.id)
    conflicts = await repo.save()
    return [
        Refused(_changed_meanwhile(outcome))
        if isinstance(outcome, uuid.UUID) and outcome in conflicts.changed_meanwhile
        else outcome
        for outcome in outcomes
    ]


async def correct_candidates(
    commands: Sequence[CorrectCandidate],
    repo: RegistrationRepository,
    clock: Clock,
    registrar: Registrar,
    index: NationalIndex | None = None,
) -> list[Corrected | Refused]:
    """Correct each candidate's personal data (see `Candidate.correct`). A corrected NIK is
    held to the rule of one active registration as a registration is: refused if registered
    elsewhere, here or (asking the national identity index) with another agency's service,
    logged, and paused once the registrar's refusals for the day are spent. A corrected NIK
    runs the national check again: a candidate suspended as a duplicate because its NIK was
    mistyped is cleared by the correction; while the index cannot be asked, it is provisional."""
    now = clock.now()
    candidates = await repo.get_many({command.candidate_id for command in commands})
    new_niks = {nik for command in commands if isinstance(nik := command.changes.get("nik"), str)}
    active = ActiveRegistrations(await repo.active_registrations(new_niks))
    budget = (
        await _refusal_budget(repo, registrar, now)
        if any("nik" in command.changes for command in commands)
        else RefusalBudget.unlimited(registrar)
    )
    outcomes: list[Corrected | Refused] = []
    for command in commands:
        try:
            if "nik" in command.changes and budget.exhausted:
                raise budget.paused()
            candidate = _found(candidates, command.candidate_id)
            decision = candidate.correct(command.changes, now, active)
        except RuleViolation as refusal:
            budget.spend(refusal)
            outcomes.append(Refused(refusal))
            continue
        outcomes.append(Corrected(candidate.id, decision.warnings))
    if index is not None:
        await _check_corrected_niks(commands, outcomes, candidates, repo, index, budget, now)
    conflicts = await repo.save()
    holders = await repo.active_registrations(new_niks) if conflicts.nik_taken else {}
    for position, (command, outcome) in enumerate(zip(commands, outcomes, strict=True)):
        if not isinstance(outcome, Corrected):
            continue
        if outcome.candidate_id in conflicts.nik_taken:
            taken = already_registered(
                holders.get(command.changes["nik"]), candidates[outcome.candidate_id].agency
            )
            budget.spend(taken)
            outcomes[position] = Refused(taken)
        elif outcome.candidate_id in conflicts.changed_meanwhile:
            outcomes[position] = Refused(_changed_meanwhile(outcome.candidate_id))
    await log_refusals_elsewhere(repo, outcomes, registrar, now)
    return outcomes


async def _check_corrected_niks(
    commands: Sequence[CorrectCandidate],
    outcomes: list[Corrected | Refused],
    candidates: dict[uuid.UUID, Candidate],
    repo: RegistrationRepository,
    index: NationalIndex,
    budget: RefusalBudget,
    now: datetime,
) -> None:
    corrected = [
        (position, candidates[outcome.candidate_id])
        for position, (command, outcome) in enumerate(zip(commands, outcomes, strict=True))
        if isinstance(outcome, Corrected) and "nik" in command.changes
    ]
    if not corrected:
        return
    people = [Person(c.id, c.agency, c.nik, c.registered_at) for _, c in corrected]
    try:
        standings = await index.claim("check", people)
    except IndexUnavailable:
        for _, candidate in corrected:
            candidate.await_national_check()
        return
    for (position, candidate), standing in zip(corrected, standings, strict=True):
        if standing is Standing.HELD_ELSEWHERE:
            refusal = RegisteredNationally()
            budget.spend(refusal)
            outcomes[position] = Refused(refusal)
            repo.discard(candidate.id)
        else:
            candidate.stand(NationalCheck(standing.value), "the corrected NIK was checked", now)


INDEX_BATCH = 500
"""Candidates sent to the national identity index in one round of `inform_index`."""


async def inform_index(repo: RegistrationRepository, index: NationalIndex, clock: Clock) -> int:
    """One round of keeping the national identity index informed: send it, in order of
    registration, the claims it has still to hear of (registrations and NIK corrections made
    while it could not be asked, or all active candidates for its rebuild) and the releases of
    withdrawn candidates; then apply its notices: a candidate cleared, held as the earlier of a
    duplicate, or suspended as the later. Raises IndexUnavailable while it cannot be asked
    (nothing is lost: what is due stays due). How many candidates it sent or changed."""
    now = clock.now()
    due = await repo.due_for_index(INDEX_BATCH)
    withdrawn = [c for c in due if c.status is CandidateStatus.WITHDRAWN]
    active = [c for c in due if c.status is CandidateStatus.ACTIVE]
    if withdrawn:
        await index.release([candidate.id for candidate in withdrawn])
    if active:
        await index.claim(
            "record", [Person(c.id, c.agency, c.nik, c.registered_at) for c in active]
        )
    for candidate in due:
        candidate.index_due = False
    epoch, after = await repo.index_cursor()
    reply = await index.notices(after, epoch)
    noticed = {candidate.id: candidate for candidate in due}  # each loaded once, changed once
    noticed |= await repo.get_many({n.candidate_id for n in reply.notices} - set(noticed))
    changed = 0
    for notice in reply.notices:
        told = noticed.get(notice.candidate_id)
        if told is not None and told.stand(
            NationalCheck(notice.standing.value), notice.reason, now
        ):
            changed += 1
    last = reply.notices[-1].sequence if reply.notices else (after if reply.epoch == epoch else 0)
    if (reply.epoch, last) != (epoch, after):
        repo.set_index_cursor(reply.epoch, last)
    conflicts = await repo.save()
    if conflicts.changed_meanwhile:
        repo.set_index_cursor(reply.epoch, after)  # read those notices again next round
        await repo.save()
    return len(due) + changed


async def log_refusals_elsewhere(
    repo: RegistrationRepository,
    outcomes: Sequence[object],
    registrar: Registrar,
    now: datetime,
) -> None:
    """Log each refusal for a NIK registered elsewhere in the NIK read log of the candidate it
    found, so the agency holding the candidate, and Kemnaker, see who learnt it is registered."""
    for outcome in outcomes:
        if isinstance(outcome, Refused) and isinstance(outcome.refusal, RegisteredElsewhere):
            repo.add_nik_read(outcome.refusal.logged_for(registrar, now))
    await repo.save()


async def _refusal_budget(
    repo: RegistrationRepository, registrar: Registrar, now: datetime
) -> RefusalBudget:
    if registrar.national:
        return RefusalBudget.unlimited(registrar)  # no need to count
    return RefusalBudget(
        registrar, await repo.refusals_elsewhere(registrar.reader, now - REFUSAL_WINDOW)
    )


def _found(candidates: dict[uuid.UUID, Candidate], candidate_id: uuid.UUID) -> Candidate:
    candidate = candidates.get(candidate_id)
    if candidate is None:
        raise NotFound("candidate", candidate_id)
    return candidate


def _changed_meanwhile(candidate_id: uuid.UUID) -> Conflict:
    return Conflict(
        "changed_meanwhile",
        f"candidate {candidate_id} was changed by another request at the same moment; "
        "look at it again and send the change again if it is still needed",
    )
