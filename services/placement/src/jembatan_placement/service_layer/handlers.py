"""Placement's write use cases, each once and set-based: a handler takes a list of commands (or
of events), applies the rules to each in order, the same refusals for a list of one as for a
thousand, and answers each with its id or its refusal. Single HTTP endpoints pass a list of one
and raise its refusal (`raise_if_refused`); the bulk endpoints pass their rows; the consumers
their batch of events.

A handler loads what the list needs from the repository in a few queries, lets the aggregates
decide (`JobOrder`, `Placement`) and record their events, and saves them all at once; an item
a request at the same moment won is decided again afresh (`applied_in_order`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import TypeVar

from jembatan_contracts import CandidateReadyForPlacement, CandidateWithdrawn, CertificatePassed
from jembatan_kit.auth import Caller
from jembatan_kit.clock import Clock
from jembatan_kit.consumer import Refusals, RetryLater, Unprocessable
from jembatan_kit.errors import Conflict, NotFound, RuleViolation

from ..adapters.repository import PlacementRepository
from ..domain.journey import Step
from ..domain.model import (
    CloseJobOrder,
    JobOrder,
    OpenJobOrder,
    ReadyCandidate,
    RecordCommitment,
    not_ready,
)
from ..domain.placement import (
    AdvancePlacement,
    CandidatePaths,
    PlaceCandidate,
    Placement,
    ShortlistCandidate,
    Withdrawal,
)
from ..domain.readiness import Certificate, Readiness, doubt, latest_of_each
from ..domain.rules import PlacementRules, shipped_rules
from .outcomes import Decided, PlacementIds, Refused, applied_in_order, in_scope

log = logging.getLogger(__name__)

# --- events in ------------------------------------------------------------------------------


async def on_candidates_ready_for_placement(
    events: Sequence[CandidateReadyForPlacement], repo: PlacementRepository
) -> None:
    """Keep each candidate's latest readiness. Only a candidate placement has heard of is made
    ready (`readiness.doubt`). One none of whose certificates has arrived yet waits, kept by
    placement until its certificate arrives (`on_certificates_passed`), which comes through
    another durable and may simply be behind; meanwhile nobody can match, shortlist or place the
    candidate. One whose certificates are all another agency's or journey's is forged
    (Unprocessable), refused before anything is written (`Refusals`); the consumer then handles
    the other events again without it."""
    held = await repo.certificates_of({event.candidate_id for event in events})
    refused: dict[uuid.UUID, RetryLater | Unprocessable] = {}
    believed: list[Readiness] = []
    waiting: list[Readiness] = []
    for event in events:
        reason = doubt(event, held.get(event.candidate_id, []))
        if reason is None:
            believed.append(Readiness.announced(event))
        elif reason.may_clear:
            waiting.append(Readiness.announced(event))
        else:
            refused[event.event_id] = Unprocessable(reason.message)
    if refused:
        raise Refusals(refused)
    repo.add_readiness(latest_of_each(believed))
    repo.add_waiting(latest_of_each(waiting))
    await repo.save()


async def on_certificates_passed(
    events: Sequence[CertificatePassed], repo: PlacementRepository
) -> None:
    """Keep the certificates a candidate holds, for orders that require some; each once. A
    readiness that arrived before its certificate and waited for it is made ready now (or,
    contradicted by it, found forged: `_make_ready`)."""
    first: dict[uuid.UUID, Certificate] = {}
    for event in events:
        first.setdefault(event.certificate_id, Certificate.passed(event))
    repo.add_certificates(list(first.values()))
    waiting = await repo.waiting_readiness({event.candidate_id for event in events})
    if waiting:
        held = await repo.certificates_of(set(waiting))
        for certificate in first.values():
            held.setdefault(certificate.candidate_id, []).append(certificate)
        _make_ready(repo, waiting, held)
    await repo.save()


async def ready_the_waiting(repo: PlacementRepository, limit: int = 500) -> int:
    """Make ready each waiting readiness whose certificate placement holds by now, at most
    `limit`; returns how many. `on_certificates_passed` does so when the certificate arrives;
    this finds those it could not see: on PostgreSQL a readiness and its certificate handled at
    the same moment, each in its own transaction, see neither the other's row."""
    waiting = await repo.waiting_with_a_certificate(limit)
    if not waiting:
        return 0
    made = _make_ready(repo, waiting, await repo.certificates_of(set(waiting)))
    await repo.save()
    return made


def _make_ready(
    repo: PlacementRepository,
    waiting: dict[uuid.UUID, Readiness],
    held: dict[uuid.UUID, list[Certificate]],
) -> int:
    """The waiting readiness a held certificate now vouches for are made ready; one whose
    candidate's certificates are all another agency's or journey's is forged, as it would have
    been found had it come after them: it waits no more, and is logged."""
    believed: list[Readiness] = []
    forged: list[Readiness] = []
    for readiness in waiting.values():
        reason = doubt(readiness, held.get(readiness.candidate_id, []))
        if reason is None:
            believed.append(readiness)
        elif not reason.may_clear:
            forged.append(readiness)
            log.warning("waiting readiness dropped: %s", reason.message)
    repo.add_readiness(believed)
    repo.end_waiting([*believed, *forged])
    return len(believed)


async def on_candidates_withdrawn(
    events: Sequence[CandidateWithdrawn], repo: PlacementRepository, clock: Clock
) -> None:
    """Each candidate withdrew from the programme: every path of theirs not yet in Japan ends
    and gives back the slot it held (`Placement.withdraw`); a departed candidate keeps the
    placement. The withdrawal is kept even for a candidate placement has not heard of, so a
    readiness arriving later finds them withdrawn, and nobody may start a path for them.

    A withdrawal naming another agency or journey than the candidate placement knows is forged
    (Unprocessable), raised before anything is written. The withdrawals are written first, so a
    path started at the same moment either sees the candidate withdrawn or is found here; a
    path whose move a request at the same moment won is decided again, and after a few tries
    the event waits (RetryLater)."""
    now = clock.now()
    withdrawals: dict[uuid.UUID, Withdrawal] = {}
    for event in events:
        withdrawals.setdefault(event.candidate_id, Withdrawal.announced(event, now))
    known = await repo.ready_candidates(set(withdrawals))
    for withdrawal in withdrawals.values():
        candidate = known.get(withdrawal.candidate_id)
        try:
            if candidate is not None:
                withdrawal.ensure_concerns(candidate)
        except RuleViolation as refusal:
            raise Unprocessable(str(refusal)) from None
    repo.add_withdrawals(list(withdrawals.values()))
    await repo.save()

    async def decide(batch: list[Withdrawal]) -> list[Decided[uuid.UUID]]:
        paths = await repo.paths_of({withdrawal.candidate_id for withdrawal in batch})
        of: dict[uuid.UUID, list[Placement]] = {}
        for placement in (await repo.placements(paths.placement_ids())).values():
            of.setdefault(placement.candidate_id, []).append(placement)
        decided: list[Decided[uuid.UUID]] = []
        for withdrawal in batch:
            ended = [
                placement.id
                for placement in of.get(withdrawal.candidate_id, [])
                if placement.withdraw(withdrawal, now)
            ]
            decided.append(Decided(withdrawal.candidate_id, frozenset(ended)))
        return decided

    def changed_meanwhile(withdrawal: Withdrawal) -> RuleViolation:
        return Conflict(
            "placement_changed",
            f"a path of candidate {withdrawal.candidate_id} changed while the withdrawal ended it",
        )

    for outcome in await applied_in_order(
        list(withdrawals.values()), decide, repo, changed_meanwhile
    ):
        if isinstance(outcome, Refused):
            raise RetryLater(str(outcome.refusal))


# --- job orders and ready candidates --------------------------------------------------------


async def open_job_orders(
    commands: Sequence[OpenJobOrder],
    repo: PlacementRepository,
    clock: Clock,
    rules: PlacementRules | None = None,
) -> list[uuid.UUID | Refused]:
    """Open each order by the dated rules in force today (`rules`, else the shipped ones)."""
    now = clock.now()
    rules = rules or shipped_rules()
    outcomes: list[uuid.UUID | Refused] = []
    for command in commands:
        try:
            order = JobOrder.open(command, now, rules)
        except RuleViolation as refusal:
            outcomes.append(Refused(refusal))
            continue
        repo.add_job_order(order)
        outcomes.append(order.id)
    await repo.save()
    return outcomes


async def close_job_orders(
    commands: Sequence[CloseJobOrder], repo: PlacementRepository, clock: Clock
) -> list[uuid.UUID | Refused]:
    now = clock.now()

    async def decide(batch: list[CloseJobOrder]) -> list[Decided[uuid.UUID]]:
        orders = await repo.job_orders({command.job_order_id for command in batch})
        decided: list[Decided[uuid.UUID]] = []
        for command in batch:
            try:
                order = _found(orders, command.job_order_id, "job order")
                order.close(command.reason, now)
            except RuleViolation as refusal:
                decided.append(Decided(Refused(refusal)))
                continue
            decided.append(Decided(order.id, frozenset({order.id})))
        return decided

    def closed_meanwhile(command: CloseJobOrder) -> RuleViolation:
        return Conflict("order_closed", f"job order {command.job_order_id} was closed a moment ago")

    return await applied_in_order(commands, decide, repo, closed_meanwhile)


async def record_commitments(
    commands: Sequence[RecordCommitment], repo: PlacementRepository, caller: Caller | None = None
) -> list[uuid.UUID | Refused]:
    """How long each candidate commits to stay; the last recorded counts."""
    candidates = await repo.ready_candidates({command.candidate_id for command in commands})
    outcomes: list[uuid.UUID | Refused] = []
    for command in commands:
        candidate = candidates.get(command.candidate_id)
        try:
            in_scope(caller, _agency(candidate), f"candidate {command.candidate_id}")
            if candidate is None:
                raise NotFound("ready candidate", command.candidate_id)
            candidate.ensure_not_withdrawn()
        except RuleViolation as refusal:
            outcomes.append(Refused(refusal))
            continue
        repo.record_commitment(candidate.candidate_id, command.months_willing_to_stay)
        outcomes.append(candidate.candidate_id)
    await repo.save()
    return outcomes


# --- a candidate's path on an order ---------------------------------------------------------


async def shortlist_candidates(
    commands: Sequence[ShortlistCandidate],
    repo: PlacementRepository,
    clock: Clock,
    caller: Caller | None = None,
    rules: PlacementRules | None = None,
) -> list[PlacementIds | Refused]:
    """Put each ready candidate on the order's path (`Placement.shortlist`)."""
    now = clock.now()
    in_force = rules or shipped_rules()

    def start(
        command: ShortlistCandidate,
        order: JobOrder,
        candidate: ReadyCandidate,
        paths: CandidatePaths,
    ) -> Placement:
        return Placement.shortlist(order, candidate, paths, command.on, now, in_force)

    return await _start_paths(commands, repo, caller, start)


async def place_candidates(
    commands: Sequence[PlaceCandidate],
    repo: PlacementRepository,
    clock: Clock,
    caller: Caller | None = None,
    rules: PlacementRules | None = None,
) -> list[PlacementIds | Refused]:
    """Contracts signed without the steps before them, each taking a slot at once
    (`Placement.place_directly`)."""
    now = clock.now()
    in_force = rules or shipped_rules()

    def start(
        command: PlaceCandidate, order: JobOrder, candidate: ReadyCandidate, paths: CandidatePaths
    ) -> Placement:
        return Placement.place_directly(order, candidate, paths, now, in_force)

    return await _start_paths(commands, repo, caller, start)


async def advance_placements(
    commands: Sequence[AdvancePlacement],
    repo: PlacementRepository,
    clock: Clock,
    caller: Caller | None = None,
    rules: PlacementRules | None = None,
) -> list[PlacementIds | Refused]:
    """Each a step of a placement's path (`Placement.advance`), in the order given, so one
    placement may take several steps in one list."""
    now = clock.now()
    in_force = rules or shipped_rules()

    async def decide(batch: list[AdvancePlacement]) -> list[Decided[PlacementIds]]:
        found = await repo.placements([command.placement_id for command in batch])
        signing = {
            found[command.placement_id].candidate_id
            for command in batch
            if command.step is Step.SIGN_CONTRACT and command.placement_id in found
        }
        paths = await repo.paths_of(signing)  # what the contract's rule needs to know
        decided: list[Decided[PlacementIds]] = []
        for command in batch:
            placement = found.get(command.placement_id)
            try:
                in_scope(caller, _agency(placement), f"placement {command.placement_id}")
                if placement is None:
                    raise NotFound("placement", command.placement_id)
                placement.advance(command.step, command.on, now, paths, in_force, command.reason)
            except RuleViolation as refusal:
                decided.append(Decided(Refused(refusal)))
                continue
            paths.update(placement)
            decided.append(
                Decided(
                    PlacementIds(placement.id, placement.candidate_id), frozenset({placement.id})
                )
            )
        return decided

    def changed_meanwhile(command: AdvancePlacement) -> RuleViolation:
        return Conflict(
            "placement_changed",
            f"placement {command.placement_id} changed while this step was recorded; look and"
            " try again",
            placement_id=str(command.placement_id),
        )

    return await applied_in_order(commands, decide, repo, changed_meanwhile)


StartPath = TypeVar("StartPath", ShortlistCandidate, PlaceCandidate)


async def _start_paths(
    commands: Sequence[StartPath],
    repo: PlacementRepository,
    caller: Caller | None,
    start: Callable[[StartPath, JobOrder, ReadyCandidate, CandidatePaths], Placement],
) -> list[PlacementIds | Refused]:
    """Start a path for each command's candidate on its order, with `start`: the rules of who
    may be put on an order's path, once for shortlisting and direct contracts."""

    async def decide(batch: list[StartPath]) -> list[Decided[PlacementIds]]:
        orders = await repo.job_orders({command.job_order_id for command in batch})
        candidates = await repo.ready_candidates({command.candidate_id for command in batch})
        paths = await repo.paths_of(set(candidates))
        decided: list[Decided[PlacementIds]] = []
        for command in batch:
            candidate = candidates.get(command.candidate_id)
            try:
                in_scope(caller, _agency(candidate), f"candidate {command.candidate_id}")
                order = _found(orders, command.job_order_id, "job order")
                if candidate is None:
                    raise not_ready(command.candidate_id)
                placement = start(command, order, candidate, paths)
            except RuleViolation as refusal:
                decided.append(Decided(Refused(refusal)))
                continue
            repo.add_placement(placement)
            paths.update(placement)
            decided.append(
                Decided(
                    PlacementIds(placement.id, placement.candidate_id), frozenset({placement.id})
                )
            )
        return decided

    def changed_meanwhile(command: StartPath) -> RuleViolation:
        return Conflict(
            "changed_meanwhile",
            f"job order {command.job_order_id} or candidate {command.candidate_id} changed"
            " while this was recorded; look and try again",
            job_order_id=str(command.job_order_id),
            candidate_id=str(command.candidate_id),
        )

    return await applied_in_order(commands, decide, repo, changed_meanwhile)


def _found(orders: dict[uuid.UUID, JobOrder], order_id: uuid.UUID, what: str) -> JobOrder:
    order = orders.get(order_id)
    if order is None:
        raise NotFound(what, order_id)
    return order


def _agency(record: ReadyCandidate | Placement | None) -> str | None:
    return record.agency if record is not None else None
