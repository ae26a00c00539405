"""Registration's write use cases, each once and set-based: a handler takes a list of commands,
applies the rules to each in order (the same refusals for a list of one as for a file of
thousands), and answers each with its id or its refusal. The single HTTP endpoints pass a list of
one and raise its refusal (`raise_if_refused`); a CSV upload passes its rows (`uploads`).

A handler loads what the list needs from the repository in a few queries, lets the aggregates
decide and record their events, and saves them all at once; a candidate that a request at the
same moment won is answered with a refusal of its own (`WriteConflicts`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from jembatan_kit.clock import Clock
from jembatan_kit.errors import Conflict, NotFound, RuleViolation

from ..adapters.repository import RegistrationRepository
from ..domain.candidate import Candidate
from ..domain.duplicates import (
    REFUSAL_WINDOW,
    ActiveRegistrations,
    RefusalBudget,
    RegisteredElsewhere,
    Registrar,
    already_registered,
)
from ..domain.model import (
    CorrectCandidate,
    Decision,
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
) -> list[Registered | Refused]:
    """Register each candidate by the rules in force, in order. A NIK registered with another
    agency refuses its candidate saying only that (`RegisteredElsewhere`), logged for the agency
    holding it; once the registrar reaches the day's limit of such refusals, every command after
    is refused as paused, and a registrar already there has the whole list refused (429), so a
    list of guessed NIKs cannot be used to learn which are registered."""
    now = clock.now()
    budget = await _refusal_budget(repo, registrar, now)
    if budget.exhausted:
        raise budget.paused()
    niks = {command.nik for command in commands if isinstance(command, RegisterCandidate)}
    active = ActiveRegistrations(await repo.active_registrations(niks))
    outcomes: list[Registered | Refused] = []
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
        repo.add(candidate)
        outcomes.append(Registered(candidate.id, candidate.journey_id, decision))
    conflicts = await repo.save()
    lost = {
        index: command
        for index, (command, outcome) in enumerate(zip(commands, outcomes, strict=True))
        if isinstance(outcome, Registered)
        and isinstance(command, RegisterCandidate)
        and outcome.candidate_id in conflicts.nik_taken
    }
    if lost:
        holders = await repo.active_registrations({command.nik for command in lost.values()})
        for index, command in lost.items():
            taken = already_registered(holders.get(command.nik), command.agency)
            budget.spend(taken)
            outcomes[index] = Refused(taken)
    await log_refusals_elsewhere(repo, outcomes, registrar, now)
    return outcomes


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
) -> list[Corrected | Refused]:
    """Correct each candidate's personal data (see `Candidate.correct`). A corrected NIK is
    held to the rule of one active registration as a registration is: refused if registered
    elsewhere, logged, and paused once the registrar's refusals for the day are spent."""
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
    conflicts = await repo.save()
    holders = await repo.active_registrations(new_niks) if conflicts.nik_taken else {}
    for index, (command, outcome) in enumerate(zip(commands, outcomes, strict=True)):
        if not isinstance(outcome, Corrected):
            continue
        if outcome.candidate_id in conflicts.nik_taken:
            taken = already_registered(
                holders.get(command.changes["nik"]), candidates[outcome.candidate_id].agency
            )
            budget.spend(taken)
            outcomes[index] = Refused(taken)
        elif outcome.candidate_id in conflicts.changed_meanwhile:
            outcomes[index] = Refused(_changed_meanwhile(outcome.candidate_id))
    await log_refusals_elsewhere(repo, outcomes, registrar, now)
    return outcomes


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
