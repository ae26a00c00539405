"""Every placement handler against the in-memory repository and a clock that stands still
(conftest.py): the rules of each use case, its events, the same refusals whether an item comes
alone or in a list, and what happens to an item a request at the same moment won."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

import pytest

from jembatan_contracts import (
    CandidateInterviewed,
    CandidateOffered,
    CandidatePlaced,
    CandidateReadyForPlacement,
    CandidateShortlisted,
    CandidateWithdrawn,
    CertificateOfEligibilityIssued,
    CertificatePassed,
    Departed,
    EarlyReturned,
    EarlyReturnReason,
    Event,
    Track,
    VisaIssued,
    WithdrawalReason,
)
from jembatan_contracts import TestKind as Exam  # aliased: pytest collects Test* names
from jembatan_kit.auth import Caller
from jembatan_kit.consumer import Refusals, Unprocessable
from jembatan_placement.domain.journey import PlacementStatus, Step
from jembatan_placement.domain.model import (
    CloseJobOrder,
    JobOrder,
    OpenJobOrder,
    ReadyCandidate,
    RecordCommitment,
)
from jembatan_placement.domain.placement import (
    AdvancePlacement,
    PlaceCandidate,
    ShortlistCandidate,
    Withdrawal,
)
from jembatan_placement.domain.readiness import Certificate, Readiness
from jembatan_placement.service_layer import handlers
from jembatan_placement.service_layer.outcomes import (
    WRITE_ATTEMPTS,
    PlacementIds,
    Refused,
    raise_if_refused,
)

TODAY = date(2027, 1, 15)
S = PlacementStatus


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


class Repo(Protocol):
    """What the tests use of conftest's FakeRepository, besides `PlacementRepository`."""

    orders: dict[uuid.UUID, JobOrder]
    candidates: dict[uuid.UUID, ReadyCandidate]
    certificates: dict[uuid.UUID, Certificate]
    stored: dict[uuid.UUID, Any]
    withdrawals: dict[uuid.UUID, Any]
    waiting: dict[uuid.UUID, Readiness]
    outbox: list[Event]
    meanwhile: Any
    contended: set[uuid.UUID]
    saves: int

    def keep(self, *items: JobOrder | ReadyCandidate | Certificate) -> None: ...

    def events(self, kind: type[Event] | None = None) -> list[Event]: ...


class Clock(Protocol):
    """conftest's FixedClock: it stands at `moment`, which a test may move."""

    moment: datetime

    def now(self) -> datetime: ...

    def today(self) -> date: ...


def order(**overrides: Any) -> JobOrder:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "employer": "Toyota Tsusho Parts Kyushu",
        "supervising_organisation": "IM Japan",
        "prefecture": "Fukuoka",
        "sector": "automotive",
        "track": Track.TITP,
        "slots": 2,
        "filled": 0,
        "monthly_wage_jpy": 185_000,
        "contract_months": 36,
    }
    return JobOrder(**(values | overrides))


def ready(agency: str = "kota-serang", **overrides: Any) -> ReadyCandidate:
    values: dict[str, Any] = {
        "candidate_id": uuid.uuid4(),
        "journey_id": uuid.uuid4(),
        "agency": agency,
        "track": Track.TITP,
        "sector": "automotive",
        "language_level": "N4",
        "ready_on": TODAY - timedelta(days=10),
    }
    return ReadyCandidate(**(values | overrides))


def verdicts(outcomes: list[Any]) -> list[str]:
    return [o.refusal.rule if isinstance(o, Refused) else "accepted" for o in outcomes]


def ids(outcome: Any) -> PlacementIds:
    assert isinstance(outcome, PlacementIds), outcome
    return outcome


async def placed(
    repo: Repo, clock: Clock, job_order: JobOrder, *candidates: ReadyCandidate
) -> list[uuid.UUID]:
    outcomes = await handlers.place_candidates(
        [PlaceCandidate(job_order.id, c.candidate_id) for c in candidates],
        repo,
        clock,  # type: ignore[arg-type]
    )
    return [ids(outcome).placement_id for outcome in outcomes]


async def advance(
    repo: Repo, clock: Clock, placement_id: uuid.UUID, *steps: Step, on: date = TODAY, **kw: Any
) -> list[str]:
    outcomes = await handlers.advance_placements(
        [AdvancePlacement(placement_id, step, on, **kw) for step in steps],
        repo,
        clock,  # type: ignore[arg-type]
    )
    return verdicts(outcomes)


# --- job orders -----------------------------------------------------------------------------


def opening(**overrides: Any) -> OpenJobOrder:
    values: dict[str, Any] = {
        "employer": " Sakura Kaigo K.K. ",
        "supervising_organisation": "IM Japan",
        "prefecture": "Aichi",
        "sector": " Caregiver",
        "track": Track.TITP,
        "slots": 2,
        "monthly_wage_jpy": 200_000,
        "contract_months": 36,
        "required_certificates": (Exam.SSW_SKILL, Exam.SSW_SKILL),
    }
    return OpenJobOrder(**(values | overrides))


async def test_orders_open_tidied_and_each_refused_one_names_every_rule_it_breaks(
    repo: Repo, clock: Clock
) -> None:
    outcomes = await handlers.open_job_orders(
        [opening(), opening(slots=0, monthly_wage_jpy=-5), opening(employer=" ")],
        repo,  # type: ignore[arg-type]
        clock,
    )

    assert verdicts(outcomes) == ["accepted", "job_order_refused", "job_order_refused"]
    opened = repo.orders[raise_if_refused(outcomes[0])]
    assert (opened.employer, opened.sector, opened.filled, opened.opened_at) == (
        "Sakura Kaigo K.K.",
        "caregiver",
        0,
        clock.now(),
    )
    assert opened.required_certificates == {Exam.SSW_SKILL}
    refusal = outcomes[1].refusal  # type: ignore[union-attr]
    failed = [check["rule"] for check in refusal.details["checks"] if not check["passed"]]
    assert failed == ["slots_positive", "wage_positive", "wage_at_least_minimum"]
    assert len(repo.orders) == 1


async def test_an_order_closes_once_with_its_reason(repo: Repo, clock: Clock) -> None:
    job_order = order()
    repo.keep(job_order)

    outcomes = await handlers.close_job_orders(
        [
            CloseJobOrder(job_order.id, " "),
            CloseJobOrder(job_order.id, " hired locally "),
            CloseJobOrder(job_order.id, "again"),
            CloseJobOrder(uuid.uuid4(), "unknown"),
        ],
        repo,  # type: ignore[arg-type]
        clock,
    )

    assert verdicts(outcomes) == [
        "close_reason_present",
        "accepted",
        "order_closed",
        "not_found",
    ]
    closed = repo.orders[job_order.id]
    assert (closed.closed, closed.closed_at, closed.close_reason) == (
        True,
        clock.now(),
        "hired locally",
    )


async def test_an_order_closed_by_another_request_meanwhile_is_refused_as_closed(
    repo: Repo, clock: Clock
) -> None:
    job_order = order()
    repo.keep(job_order)

    def closed_elsewhere() -> None:
        repo.orders[job_order.id].closed = True
        repo.orders[job_order.id].close_reason = "filled by phone"

    repo.meanwhile = closed_elsewhere
    [outcome] = await handlers.close_job_orders(
        [CloseJobOrder(job_order.id, "hired locally")],
        repo,
        clock,  # type: ignore[arg-type]
    )

    assert verdicts([outcome]) == ["order_closed"]
    assert repo.orders[job_order.id].close_reason == "filled by phone"


# --- ready candidates and what training tells -----------------------------------------------


async def test_a_commitment_is_recorded_for_a_known_candidate_of_the_callers_agency(
    repo: Repo,
) -> None:
    ours, theirs = ready("kota-serang"), ready("boyolali")
    repo.keep(ours, theirs)
    caller = Caller(user="operator", agency="kota-serang", roles=frozenset())

    outcomes = await handlers.record_commitments(
        [
            RecordCommitment(ours.candidate_id, 60),
            RecordCommitment(theirs.candidate_id, 60),
            RecordCommitment(uuid.uuid4(), 60),
        ],
        repo,  # type: ignore[arg-type]
        caller,
    )

    assert verdicts(outcomes) == ["accepted", "agency_scope", "not_found"]
    assert repo.candidates[ours.candidate_id].months_willing_to_stay == 60
    assert repo.candidates[theirs.candidate_id].months_willing_to_stay is None


def readiness(candidate_id: uuid.UUID, **overrides: Any) -> CandidateReadyForPlacement:
    values: dict[str, Any] = {
        "agency": "kaltim",
        "journey_id": uuid.uuid4(),
        "candidate_id": candidate_id,
        "track": Track.TITP,
        "sector": " Caregiver ",
        "language_level": "N4",
        "satisfied_rules": ["japanese_n4"],
    }
    return CandidateReadyForPlacement(**(values | overrides))


def passed(event: CandidateReadyForPlacement, **overrides: Any) -> CertificatePassed:
    values: dict[str, Any] = {
        "agency": event.agency,
        "journey_id": event.journey_id,
        "candidate_id": event.candidate_id,
        "certificate_id": uuid.uuid4(),
        "test": Exam.JLPT,
        "level": "N4",
        "issuer": "Japan Foundation",
        "passed_on": TODAY,
    }
    return CertificatePassed(**(values | overrides))


async def test_certificates_are_kept_once_each(repo: Repo) -> None:
    event = passed(readiness(uuid.uuid4()), test=Exam.SSW_SKILL, sector=" Automotive")
    repeat = passed(readiness(uuid.uuid4()), certificate_id=event.certificate_id)

    await handlers.on_certificates_passed([event, repeat], repo)  # type: ignore[arg-type]
    await handlers.on_certificates_passed([event], repo)  # type: ignore[arg-type]

    [kept] = repo.certificates.values()
    assert (kept.candidate_id, kept.test, kept.sector) == (
        event.candidate_id,
        Exam.SSW_SKILL,
        "automotive",
    )


async def test_the_latest_readiness_of_a_candidate_with_a_certificate_wins(repo: Repo) -> None:
    candidate_id = uuid.uuid4()
    now = datetime(2027, 1, 10, tzinfo=UTC)
    first = readiness(candidate_id, occurred_at=now - timedelta(days=2))
    latest = readiness(
        candidate_id, journey_id=first.journey_id, sector="automotive", occurred_at=now
    )
    late = readiness(
        candidate_id,
        journey_id=first.journey_id,
        sector="agriculture",
        occurred_at=now - timedelta(days=1),
    )
    await handlers.on_certificates_passed([passed(first)], repo)  # type: ignore[arg-type]

    await handlers.on_candidates_ready_for_placement([first, latest], repo)  # type: ignore[arg-type]
    repo.candidates[candidate_id] = ReadyCandidate(
        **{**repo.candidates[candidate_id].__dict__, "months_willing_to_stay": 48}
    )
    await handlers.on_candidates_ready_for_placement([late, first], repo)  # type: ignore[arg-type]

    kept = repo.candidates[candidate_id]
    assert (kept.sector, kept.ready_on, kept.months_willing_to_stay) == (
        "automotive",
        now.date(),
        48,
    )


async def test_a_readiness_waits_for_its_certificate_and_a_foreign_one_is_refused(
    repo: Repo,
) -> None:
    unheard = readiness(uuid.uuid4())
    genuine = readiness(uuid.uuid4())
    await handlers.on_certificates_passed([passed(genuine)], repo)  # type: ignore[arg-type]
    forged = readiness(genuine.candidate_id, agency="kota-serang")

    await handlers.on_candidates_ready_for_placement([genuine, unheard], repo)  # type: ignore[arg-type]
    # The one whose certificate has not arrived waits, not made ready, not refused.
    assert set(repo.candidates) == {genuine.candidate_id}
    assert set(repo.waiting) == {unheard.candidate_id}
    with pytest.raises(Refusals) as refused:
        await handlers.on_candidates_ready_for_placement([forged], repo)  # type: ignore[arg-type]

    [refusal] = refused.value.refused.values()
    assert isinstance(refusal, Unprocessable)
    assert str(refusal).startswith(
        f"journey_mismatch: CandidateReadyForPlacement of candidate {genuine.candidate_id} names"
        f" agency kota-serang and journey {forged.journey_id}"
    )
    assert repo.candidates[genuine.candidate_id].agency == "kaltim"  # refused, nothing written


async def test_a_waiting_readiness_is_made_ready_by_its_certificate_alone(repo: Repo) -> None:
    early = readiness(uuid.uuid4(), occurred_at=datetime.now(UTC) - timedelta(hours=1))
    latest = readiness(early.candidate_id, journey_id=early.journey_id, sector="automotive")
    await handlers.on_candidates_ready_for_placement([latest, early], repo)  # type: ignore[arg-type]
    assert repo.waiting[latest.candidate_id].sector == "automotive"

    await handlers.on_certificates_passed([passed(latest)], repo)  # type: ignore[arg-type]

    assert repo.waiting == {}
    kept = repo.candidates[latest.candidate_id]
    assert (kept.agency, kept.journey_id, kept.sector) == (
        "kaltim",
        latest.journey_id,
        "automotive",
    )


async def test_a_waiting_readiness_its_candidates_certificate_contradicts_is_dropped(
    repo: Repo, caplog: pytest.LogCaptureFixture
) -> None:
    forged = readiness(uuid.uuid4(), agency="kota-serang")
    await handlers.on_candidates_ready_for_placement([forged], repo)  # type: ignore[arg-type]

    # The candidate's certificate is Kalimantan Timur's, of another journey.
    await handlers.on_certificates_passed(  # type: ignore[arg-type]
        [passed(forged, agency="kaltim", journey_id=uuid.uuid4())], repo
    )

    assert (repo.candidates, repo.waiting) == ({}, {})
    assert f"journey_mismatch: CandidateReadyForPlacement of candidate {forged.candidate_id}" in (
        caplog.text
    )


async def test_readiness_and_certificate_that_crossed_are_made_ready_after(repo: Repo) -> None:
    crossed = readiness(uuid.uuid4())
    foreign = readiness(uuid.uuid4())
    waiting_on = readiness(uuid.uuid4())
    await handlers.on_candidates_ready_for_placement([crossed, foreign, waiting_on], repo)  # type: ignore[arg-type]
    # Kept as two transactions at the same moment would leave them: neither saw the other.
    for certificate in (passed(crossed), passed(foreign, journey_id=uuid.uuid4())):
        repo.keep(Certificate.passed(certificate))

    assert await handlers.ready_the_waiting(repo, limit=1) == 1
    assert await handlers.ready_the_waiting(repo) == 0

    assert set(repo.candidates) == {crossed.candidate_id}
    assert set(repo.waiting) == {foreign.candidate_id, waiting_on.candidate_id}


# --- starting a path: shortlists and direct contracts ---------------------------------------


async def test_contracts_in_one_list_take_slots_in_order_and_refuse_each_broken_rule(
    repo: Repo, clock: Clock
) -> None:
    job_order = order(slots=2)
    first, second, third = ready(), ready(), ready()
    caregiver = ready(sector="caregiver")
    repo.keep(job_order, first, second, third, caregiver)
    rows = [first, None, first, caregiver, second, third]

    outcomes = await handlers.place_candidates(
        [PlaceCandidate(job_order.id, c.candidate_id if c else uuid.uuid4()) for c in rows],
        repo,  # type: ignore[arg-type]
        clock,
    )

    assert verdicts(outcomes) == [
        "accepted",
        "candidate_not_ready",
        "one_active_placement",
        "sector_mismatch",
        "accepted",
        "order_full",
    ]
    first_placement = ids(outcomes[0]).placement_id
    assert outcomes[2].refusal.message.endswith(str(first_placement))  # type: ignore[union-attr]
    assert repo.orders[job_order.id].filled == 2
    events = repo.events()
    assert [type(e) for e in events] == [CandidatePlaced, CandidatePlaced]
    event = events[0]
    assert isinstance(event, CandidatePlaced)
    assert (event.placement_id, event.candidate_id, event.job_order_id) == (
        first_placement,
        first.candidate_id,
        job_order.id,
    )
    assert (event.agency, event.journey_id) == (first.agency, first.journey_id)
    assert (event.supervising_organisation, event.monthly_wage_jpy, event.contract_months) == (
        "IM Japan",
        185_000,
        36,
    )
    assert (event.track, event.sector, event.contract_signed_on) == (
        Track.TITP,
        "automotive",
        TODAY,
    )
    stored = repo.stored[first_placement]
    assert (stored.status, stored.placed_at, [s.status for s in stored.steps]) == (
        S.PLACED,
        clock.now(),
        [S.PLACED],
    )


async def test_each_row_is_refused_alone_as_it_is_in_a_list(repo: Repo, clock: Clock) -> None:
    full, closed, elsewhere = order(slots=1, filled=1), order(closed=True), order()
    newcomer, unfit, holder = ready(), ready(language_level="N5"), ready()
    repo.keep(full, closed, elsewhere, newcomer, unfit, holder)
    await placed(repo, clock, elsewhere, holder)
    rows = [
        PlaceCandidate(full.id, newcomer.candidate_id),
        PlaceCandidate(uuid.uuid4(), holder.candidate_id),
        PlaceCandidate(closed.id, holder.candidate_id),
        PlaceCandidate(closed.id, unfit.candidate_id),
        PlaceCandidate(full.id, unfit.candidate_id),
        PlaceCandidate(closed.id, newcomer.candidate_id),
    ]

    together = verdicts(await handlers.place_candidates(rows, repo, clock))  # type: ignore[arg-type]
    alone = [
        verdicts(await handlers.place_candidates([row], repo, clock))[0]  # type: ignore[arg-type]
        for row in rows
    ]

    assert together == alone
    assert together == [
        "order_full",
        "not_found",
        "one_active_placement",
        "language_below_minimum",
        "language_below_minimum",
        "order_closed",
    ]


async def test_a_shortlist_starts_a_path_without_a_slot_and_once_per_order(
    repo: Repo, clock: Clock
) -> None:
    job_order = order(slots=1)
    candidate, other = ready(), ready()
    repo.keep(job_order, candidate, other)
    on = TODAY - timedelta(days=1)

    outcomes = await handlers.shortlist_candidates(
        [
            ShortlistCandidate(job_order.id, candidate.candidate_id, on),
            ShortlistCandidate(job_order.id, candidate.candidate_id, on),
            ShortlistCandidate(job_order.id, other.candidate_id, on),
        ],
        repo,  # type: ignore[arg-type]
        clock,
    )

    assert verdicts(outcomes) == ["accepted", "already_on_order", "accepted"]
    assert repo.orders[job_order.id].filled == 0
    [event, _] = repo.events()
    assert isinstance(event, CandidateShortlisted)
    assert (event.placement_id, event.shortlisted_on, event.track, event.sector) == (
        ids(outcomes[0]).placement_id,
        on,
        Track.TITP,
        "automotive",
    )
    stored = repo.stored[ids(outcomes[0]).placement_id]
    assert (stored.status, stored.started_at, stored.placed_at) == (
        S.SHORTLISTED,
        clock.now(),
        None,
    )


async def test_starting_a_path_for_another_agencys_candidate_is_refused(
    repo: Repo, clock: Clock
) -> None:
    job_order = order()
    theirs = ready("boyolali")
    repo.keep(job_order, theirs)
    province = Caller(user="operator", agency="kaltim", roles=frozenset())
    national = Caller(user="operator", agency="kemnaker", roles=frozenset())

    refused = await handlers.shortlist_candidates(
        [ShortlistCandidate(job_order.id, theirs.candidate_id, TODAY)],
        repo,
        clock,
        province,  # type: ignore[arg-type]
    )
    accepted = await handlers.place_candidates(
        [PlaceCandidate(job_order.id, theirs.candidate_id)],
        repo,
        clock,
        national,  # type: ignore[arg-type]
    )

    assert verdicts(refused) + verdicts(accepted) == ["agency_scope", "accepted"]


async def test_slots_a_request_took_meanwhile_are_not_taken_twice(repo: Repo, clock: Clock) -> None:
    job_order = order(slots=3)
    candidates = [ready() for _ in range(3)]
    repo.keep(job_order, *candidates)

    def two_taken_elsewhere() -> None:
        repo.orders[job_order.id].filled = 2

    repo.meanwhile = two_taken_elsewhere
    outcomes = await handlers.place_candidates(
        [PlaceCandidate(job_order.id, c.candidate_id) for c in candidates],
        repo,
        clock,  # type: ignore[arg-type]
    )

    assert verdicts(outcomes) == ["accepted", "order_full", "order_full"]
    assert repo.orders[job_order.id].filled == 3
    assert [e.candidate_id for e in repo.events()] == [candidates[0].candidate_id]  # type: ignore[attr-defined]


async def test_a_candidate_placed_elsewhere_meanwhile_is_refused_and_frees_the_slot(
    repo: Repo, clock: Clock
) -> None:
    mine, elsewhere = order(), order()
    candidate = ready()
    repo.keep(mine, elsewhere, candidate)
    [winner] = await placed(repo, clock, elsewhere, candidate)
    won = repo.stored.pop(winner)  # not committed yet when the request below reads
    repo.orders[elsewhere.id].filled = 0
    repo.outbox.clear()

    def won_meanwhile() -> None:
        repo.stored[winner] = won
        repo.orders[elsewhere.id].filled = 1

    repo.meanwhile = won_meanwhile
    [outcome] = await handlers.place_candidates(
        [PlaceCandidate(mine.id, candidate.candidate_id)],
        repo,
        clock,  # type: ignore[arg-type]
    )

    assert verdicts([outcome]) == ["one_active_placement"]
    assert outcome.refusal.message.endswith(str(winner))  # type: ignore[union-attr]
    assert (repo.orders[mine.id].filled, repo.orders[elsewhere.id].filled) == (0, 1)
    assert repo.outbox == []


# --- the path's steps -----------------------------------------------------------------------


async def test_a_candidate_walks_the_whole_path_and_each_step_records_its_event(
    repo: Repo, clock: Clock
) -> None:
    job_order = order(slots=1)
    candidate = ready()
    repo.keep(job_order, candidate)
    [shortlisted] = await handlers.shortlist_candidates(
        [ShortlistCandidate(job_order.id, candidate.candidate_id, TODAY)],
        repo,
        clock,  # type: ignore[arg-type]
    )
    path = ids(shortlisted).placement_id
    departure = TODAY + timedelta(days=100)
    back = departure + timedelta(days=440)

    for step, on in [
        (Step.PASS_INTERVIEW, TODAY),
        (Step.OFFER, TODAY),
        (Step.SIGN_CONTRACT, TODAY + timedelta(days=2)),
        (Step.ISSUE_COE, TODAY + timedelta(days=60)),
        (Step.ISSUE_VISA, TODAY + timedelta(days=80)),
        (Step.DEPART, departure),
    ]:
        clock.moment = noon(on)  # each step recorded on the day it happens
        assert await advance(repo, clock, path, step, on=on) == ["accepted"]
    clock.moment = noon(back)
    assert await advance(
        repo, clock, path, Step.RETURN_EARLY, on=back, reason=EarlyReturnReason.EMPLOYER_FAILURE
    ) == ["accepted"]

    events = repo.events()
    assert [type(e) for e in events] == [
        CandidateShortlisted,
        CandidateInterviewed,
        CandidateOffered,
        CandidatePlaced,
        CertificateOfEligibilityIssued,
        VisaIssued,
        Departed,
        EarlyReturned,
    ]
    assert {(e.agency, e.journey_id, e.placement_id) for e in events} == {  # type: ignore[attr-defined]
        (candidate.agency, candidate.journey_id, path)
    }
    interviewed, offered, contract, coe, visa, departed, returned = events[1:]
    assert isinstance(interviewed, CandidateInterviewed) and interviewed.passed
    assert isinstance(offered, CandidateOffered)
    assert (offered.offered_on, offered.monthly_wage_jpy, offered.contract_months) == (
        TODAY,
        185_000,
        36,
    )
    assert isinstance(contract, CandidatePlaced)
    assert contract.contract_signed_on == TODAY + timedelta(days=2)
    assert isinstance(coe, CertificateOfEligibilityIssued) and isinstance(visa, VisaIssued)
    assert (coe.issued_on, visa.issued_on) == (TODAY + timedelta(days=60), TODAY + timedelta(80))
    assert isinstance(departed, Departed)
    assert (departed.departure_date, departed.monthly_wage_jpy) == (departure, 185_000)
    assert isinstance(returned, EarlyReturned)
    assert (returned.return_date, returned.reason, returned.months_worked) == (
        back,
        EarlyReturnReason.EMPLOYER_FAILURE,
        14,
    )
    stored = repo.stored[path]
    assert (stored.status, stored.departure_date, stored.placed_at) == (
        S.RETURNED_EARLY,
        departure,
        noon(TODAY + timedelta(days=2)),
    )
    assert stored.steps[-1].detail == "employer_failure"
    assert [s.status for s in stored.steps] == [
        S.SHORTLISTED,
        S.INTERVIEWED,
        S.OFFERED,
        S.PLACED,
        S.COE_ISSUED,
        S.VISA_ISSUED,
        S.DEPARTED,
        S.RETURNED_EARLY,
    ]
    assert repo.orders[job_order.id].filled == 1


async def test_steps_in_one_list_apply_in_order_and_refuse_each_broken_rule(
    repo: Repo, clock: Clock
) -> None:
    job_order = order()
    first, second = ready(), ready()
    repo.keep(job_order, first, second)
    a, b = await placed(repo, clock, job_order, first, second)
    repo.outbox.clear()
    clock.moment = noon(TODAY + timedelta(days=7))

    outcomes = await handlers.advance_placements(
        [
            AdvancePlacement(a, Step.ISSUE_COE, TODAY),
            AdvancePlacement(b, Step.DEPART, TODAY),
            AdvancePlacement(a, Step.ISSUE_VISA, TODAY),
            AdvancePlacement(b, Step.ISSUE_COE, TODAY - timedelta(days=1)),
            AdvancePlacement(uuid.uuid4(), Step.ISSUE_VISA, TODAY),
            AdvancePlacement(b, Step.ISSUE_COE, TODAY),
            AdvancePlacement(a, Step.DEPART, TODAY + timedelta(days=7)),
            AdvancePlacement(a, Step.ISSUE_VISA, TODAY),
            AdvancePlacement(a, Step.DEPART, TODAY + timedelta(days=7)),
        ],
        repo,  # type: ignore[arg-type]
        clock,
    )

    assert verdicts(outcomes) == [
        "accepted",
        "departure_needs_visa",
        "accepted",
        "dated_before_previous_step",
        "not_found",
        "accepted",
        "accepted",
        "visa_needs_coe",
        "already_departed",
    ]
    assert [(type(e), e.placement_id) for e in repo.events()] == [  # type: ignore[attr-defined]
        (CertificateOfEligibilityIssued, a),
        (VisaIssued, a),
        (CertificateOfEligibilityIssued, b),
        (Departed, a),
    ]
    assert (repo.stored[a].status, repo.stored[a].departure_date) == (
        S.DEPARTED,
        TODAY + timedelta(days=7),
    )
    assert repo.stored[b].status is S.COE_ISSUED


async def test_a_failed_interview_ends_the_path_and_frees_the_order_for_the_candidate(
    repo: Repo, clock: Clock
) -> None:
    job_order = order()
    candidate = ready()
    repo.keep(job_order, candidate)
    shortlist = ShortlistCandidate(job_order.id, candidate.candidate_id, TODAY)
    [first] = await handlers.shortlist_candidates([shortlist], repo, clock)  # type: ignore[arg-type]
    path = ids(first).placement_id

    assert await advance(repo, clock, path, Step.OFFER, Step.FAIL_INTERVIEW, Step.OFFER) == [
        "offer_needs_passed_interview",
        "accepted",
        "offer_needs_passed_interview",
    ]
    interviewed = repo.events(CandidateInterviewed)[0]
    assert isinstance(interviewed, CandidateInterviewed) and not interviewed.passed
    assert repo.stored[path].status is S.INTERVIEW_FAILED
    again = await handlers.shortlist_candidates([shortlist], repo, clock)  # type: ignore[arg-type]
    assert verdicts(again) == ["accepted"]


async def test_a_contract_takes_a_slot_while_one_is_left_and_one_per_candidate(
    repo: Repo, clock: Clock
) -> None:
    one_slot, other = order(slots=1), order()
    first, second = ready(), ready()
    repo.keep(one_slot, other, first, second)
    shortlists = [
        ShortlistCandidate(one_slot.id, first.candidate_id, TODAY),
        ShortlistCandidate(one_slot.id, second.candidate_id, TODAY),
        ShortlistCandidate(other.id, first.candidate_id, TODAY),
    ]
    paths = [
        ids(o).placement_id
        for o in await handlers.shortlist_candidates(shortlists, repo, clock)  # type: ignore[arg-type]
    ]
    for path in paths:
        await advance(repo, clock, path, Step.PASS_INTERVIEW, Step.OFFER)

    outcomes = await handlers.advance_placements(
        [AdvancePlacement(path, Step.SIGN_CONTRACT, TODAY) for path in paths],
        repo,  # type: ignore[arg-type]
        clock,
    )

    assert verdicts(outcomes) == ["accepted", "order_full", "one_active_placement"]
    assert (repo.orders[one_slot.id].filled, repo.orders[other.id].filled) == (1, 0)
    assert len(repo.events(CandidatePlaced)) == 1


async def test_an_offer_or_a_contract_on_a_closed_order_is_refused(
    repo: Repo, clock: Clock
) -> None:
    job_order = order(slots=3)
    first, second = ready(), ready()
    repo.keep(job_order, first, second)
    paths = [
        ids(o).placement_id
        for o in await handlers.shortlist_candidates(
            [ShortlistCandidate(job_order.id, c.candidate_id, TODAY) for c in (first, second)],
            repo,  # type: ignore[arg-type]
            clock,
        )
    ]
    await advance(repo, clock, paths[0], Step.PASS_INTERVIEW, Step.OFFER)
    await advance(repo, clock, paths[1], Step.PASS_INTERVIEW)
    await handlers.close_job_orders([CloseJobOrder(job_order.id, "hired locally")], repo, clock)  # type: ignore[arg-type]

    assert await advance(repo, clock, paths[0], Step.SIGN_CONTRACT) == ["order_closed"]
    assert await advance(repo, clock, paths[1], Step.OFFER) == ["order_closed"]


async def test_a_step_dated_after_today_in_japan_is_refused_as_not_happened_yet(
    repo: Repo, clock: Clock
) -> None:
    job_order = order()
    candidate = ready()
    repo.keep(job_order, candidate)
    clock.moment = datetime(2027, 1, 15, 14, 59, tzinfo=UTC)  # 23:59 in Japan
    tomorrow = date(2027, 1, 16)
    [early] = await handlers.shortlist_candidates(
        [ShortlistCandidate(job_order.id, candidate.candidate_id, tomorrow)],
        repo,
        clock,  # type: ignore[arg-type]
    )
    assert isinstance(early, Refused)
    assert (early.refusal.rule, early.refusal.details) == (
        "dated_in_future",
        {"date": "2027-01-16", "today": "2027-01-15"},
    )
    assert early.refusal.message == (
        "the shortlisting on 2027-01-16 has not happened yet: today is 2027-01-15 (Japan time, by"
        " the service's clock); record a step once it has happened"
    )
    [path] = await placed(repo, clock, job_order, candidate)
    await advance(repo, clock, path, Step.ISSUE_COE, Step.ISSUE_VISA)
    assert await advance(repo, clock, path, Step.DEPART, on=date(2031, 1, 15)) == [
        "dated_in_future"
    ]
    assert await advance(repo, clock, path, Step.DEPART, on=tomorrow) == ["dated_in_future"]

    clock.moment = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)  # the 16th has begun in Japan
    assert await advance(repo, clock, path, Step.DEPART, on=tomorrow) == ["accepted"]
    assert repo.stored[path].departure_date == tomorrow


async def test_an_early_return_must_be_early(repo: Repo, clock: Clock) -> None:
    job_order = order()
    candidate = ready()
    repo.keep(job_order, candidate)
    [path] = await placed(repo, clock, job_order, candidate)
    reason = EarlyReturnReason.EMPLOYER_FAILURE
    assert await advance(repo, clock, path, Step.RETURN_EARLY, reason=reason) == [
        "early_return_needs_departure"
    ]
    await advance(repo, clock, path, Step.ISSUE_COE, Step.ISSUE_VISA, Step.DEPART)

    late = TODAY + timedelta(days=3 * 366)
    clock.moment = noon(late)
    assert await advance(repo, clock, path, Step.RETURN_EARLY, on=late, reason=reason) == [
        "return_not_early"
    ]
    assert await advance(
        repo, clock, path, Step.RETURN_EARLY, on=TODAY - timedelta(days=1), reason=reason
    ) == ["dated_before_previous_step"]


async def test_a_step_a_request_took_meanwhile_is_decided_again_on_what_is_stored(
    repo: Repo, clock: Clock
) -> None:
    job_order = order()
    candidate = ready()
    repo.keep(job_order, candidate)
    [path] = await placed(repo, clock, job_order, candidate)
    repo.outbox.clear()

    def issued_elsewhere() -> None:
        repo.stored[path].status = S.COE_ISSUED

    repo.meanwhile = issued_elsewhere
    outcomes = await handlers.advance_placements(
        [AdvancePlacement(path, Step.ISSUE_COE, TODAY)],
        repo,
        clock,  # type: ignore[arg-type]
    )

    assert verdicts(outcomes) == ["already_coe_issued"]
    assert repo.outbox == []


async def test_a_contract_losing_its_slot_meanwhile_leaves_the_other_steps_written(
    repo: Repo, clock: Clock
) -> None:
    job_order = order(slots=2)
    first, second = ready(), ready()
    repo.keep(job_order, first, second)
    [contracted] = await placed(repo, clock, job_order, first)
    [shortlisted] = await handlers.shortlist_candidates(
        [ShortlistCandidate(job_order.id, second.candidate_id, TODAY)],
        repo,
        clock,  # type: ignore[arg-type]
    )
    offered = ids(shortlisted).placement_id
    await advance(repo, clock, offered, Step.PASS_INTERVIEW, Step.OFFER)
    repo.outbox.clear()

    def last_slot_taken_elsewhere() -> None:
        repo.orders[job_order.id].filled = 2

    repo.meanwhile = last_slot_taken_elsewhere
    outcomes = await handlers.advance_placements(
        [
            AdvancePlacement(contracted, Step.ISSUE_COE, TODAY),
            AdvancePlacement(offered, Step.SIGN_CONTRACT, TODAY),
        ],
        repo,  # type: ignore[arg-type]
        clock,
    )

    assert verdicts(outcomes) == ["accepted", "order_full"]
    assert [type(e) for e in repo.events()] == [CertificateOfEligibilityIssued]
    assert (repo.stored[contracted].status, repo.stored[offered].status) == (
        S.COE_ISSUED,
        S.OFFERED,
    )


async def test_an_item_whose_writes_are_always_lost_is_refused_after_some_attempts(
    repo: Repo, clock: Clock
) -> None:
    job_order = order()
    candidate = ready()
    repo.keep(job_order, candidate)
    [path] = await placed(repo, clock, job_order, candidate)
    saves = repo.saves
    repo.contended.add(path)

    outcomes = await handlers.advance_placements(
        [AdvancePlacement(path, Step.ISSUE_COE, TODAY)],
        repo,
        clock,  # type: ignore[arg-type]
    )

    assert verdicts(outcomes) == ["placement_changed"]
    assert repo.saves - saves == WRITE_ATTEMPTS
    assert repo.stored[path].status is S.PLACED


# --- withdrawals ----------------------------------------------------------------------------


def withdrawal(
    candidate: ReadyCandidate | CandidateReadyForPlacement, on: date = TODAY, **overrides: Any
) -> CandidateWithdrawn:
    values: dict[str, Any] = {
        "agency": candidate.agency,
        "journey_id": candidate.journey_id,
        "candidate_id": candidate.candidate_id,
        "reason": WithdrawalReason.FAMILY,
        "withdrawn_on": on,
    }
    return CandidateWithdrawn(**(values | overrides))


async def withdraw(repo: Repo, clock: Clock, *events: CandidateWithdrawn) -> None:
    await handlers.on_candidates_withdrawn(events, repo, clock)  # type: ignore[arg-type]


async def test_a_withdrawal_ends_every_path_not_yet_in_japan_and_gives_back_the_slot(
    repo: Repo, clock: Clock
) -> None:
    contracted_on, shortlisted_on, interviewed_on = order(slots=1), order(), order()
    candidate, next_in_line = ready(), ready()
    repo.keep(contracted_on, shortlisted_on, interviewed_on, candidate, next_in_line)
    shortlists = await handlers.shortlist_candidates(
        [
            ShortlistCandidate(shortlisted_on.id, candidate.candidate_id, TODAY),
            ShortlistCandidate(interviewed_on.id, candidate.candidate_id, TODAY),
        ],
        repo,
        clock,  # type: ignore[arg-type]
    )
    shortlisted, interviewed = (ids(outcome).placement_id for outcome in shortlists)
    await advance(repo, clock, interviewed, Step.PASS_INTERVIEW)
    [contract] = await placed(repo, clock, contracted_on, candidate)
    await advance(repo, clock, contract, Step.ISSUE_COE, Step.ISSUE_VISA)
    assert repo.orders[contracted_on.id].filled == 1
    published = len(repo.outbox)

    await withdraw(repo, clock, withdrawal(candidate, TODAY - timedelta(days=1)))

    for path in (contract, shortlisted, interviewed):
        stored = repo.stored[path]
        assert stored.status is S.WITHDRAWN
        assert (stored.steps[-1].status, stored.steps[-1].happened_on) == (
            S.WITHDRAWN,
            TODAY - timedelta(days=1),
        )
        assert stored.steps[-1].detail == "family"
    assert repo.orders[contracted_on.id].filled == 0
    assert len(repo.outbox) == published  # registration announced it; placement adds nothing
    # The slot is free for the next candidate.
    assert await placed(repo, clock, contracted_on, next_in_line)


async def test_nothing_may_be_done_for_a_withdrawn_candidate_and_each_refusal_says_why(
    repo: Repo, clock: Clock
) -> None:
    job_order, other = order(), order()
    candidate = ready()
    repo.keep(job_order, other, candidate)
    [shortlisted] = await handlers.shortlist_candidates(
        [ShortlistCandidate(job_order.id, candidate.candidate_id, TODAY)],
        repo,
        clock,  # type: ignore[arg-type]
    )
    path = ids(shortlisted).placement_id
    await withdraw(repo, clock, withdrawal(candidate))

    assert await advance(repo, clock, path, Step.PASS_INTERVIEW) == ["candidate_withdrawn"]
    starts = [
        await handlers.shortlist_candidates(
            [ShortlistCandidate(other.id, candidate.candidate_id, TODAY)],
            repo,
            clock,  # type: ignore[arg-type]
        ),
        await handlers.place_candidates(
            [PlaceCandidate(other.id, candidate.candidate_id)],
            repo,
            clock,  # type: ignore[arg-type]
        ),
        await handlers.record_commitments(
            [RecordCommitment(candidate.candidate_id, 60)],
            repo,  # type: ignore[arg-type]
        ),
    ]
    for [refused] in starts:
        assert isinstance(refused, Refused)
        assert (refused.refusal.rule, refused.refusal.status_code) == ("candidate_withdrawn", 409)
        assert refused.refusal.message == (
            f"candidate {candidate.candidate_id} withdrew from the programme on"
            f" {TODAY.isoformat()}: nobody may shortlist, place or record anything for them any"
            " more"
        )
    assert repo.orders[other.id].filled == 0


async def test_a_candidate_who_withdraws_after_departure_keeps_the_placement(
    repo: Repo, clock: Clock
) -> None:
    job_order = order()
    candidate = ready()
    repo.keep(job_order, candidate)
    [path] = await placed(repo, clock, job_order, candidate)
    await advance(repo, clock, path, Step.ISSUE_COE, Step.ISSUE_VISA, Step.DEPART)

    await withdraw(repo, clock, withdrawal(candidate))

    assert (repo.stored[path].status, repo.orders[job_order.id].filled) == (S.DEPARTED, 1)
    # Coming home is recorded as an early return, as for anyone.
    clock.moment = noon(TODAY + timedelta(days=30))
    back = TODAY + timedelta(days=30)
    reason = EarlyReturnReason.HEALTH
    assert await advance(repo, clock, path, Step.RETURN_EARLY, on=back, reason=reason) == [
        "accepted"
    ]


async def test_a_withdrawal_heard_before_the_readiness_keeps_the_candidate_from_any_path(
    repo: Repo, clock: Clock
) -> None:
    job_order = order(sector="caregiver")
    repo.keep(job_order)
    announced = readiness(uuid.uuid4())
    await withdraw(repo, clock, withdrawal(announced))  # placement has not heard of them yet
    await handlers.on_certificates_passed([passed(announced)], repo)  # type: ignore[arg-type]
    await handlers.on_candidates_ready_for_placement([announced], repo)  # type: ignore[arg-type]

    [refused] = await handlers.place_candidates(
        [PlaceCandidate(job_order.id, announced.candidate_id)],
        repo,
        clock,  # type: ignore[arg-type]
    )
    assert verdicts([refused]) == ["candidate_withdrawn"]


async def test_a_withdrawal_naming_another_agency_than_the_candidates_is_refused_as_forged(
    repo: Repo, clock: Clock
) -> None:
    job_order = order()
    candidate = ready("kota-serang")
    repo.keep(job_order, candidate)
    [path] = await placed(repo, clock, job_order, candidate)
    forged = withdrawal(candidate, agency="kaltim")

    with pytest.raises(Unprocessable) as refused:
        await withdraw(repo, clock, withdrawal(ready()), forged)

    assert str(refused.value) == (
        f"journey_mismatch: CandidateWithdrawn of candidate {candidate.candidate_id} names"
        f" agency kaltim and journey {candidate.journey_id}, but placement knows the candidate"
        f" as agency kota-serang's, journey {candidate.journey_id}; a forged or broken event,"
        " not handled"
    )
    assert (repo.stored[path].status, repo.orders[job_order.id].filled) == (S.PLACED, 1)
    assert repo.withdrawals == {}


async def test_a_forged_withdrawal_heard_first_does_not_withdraw_the_genuine_candidate(
    repo: Repo, clock: Clock
) -> None:
    job_order = order(sector="caregiver")
    repo.keep(job_order)
    genuine = readiness(uuid.uuid4())
    await withdraw(repo, clock, withdrawal(genuine, agency="kota-serang", journey_id=uuid.uuid4()))
    await handlers.on_certificates_passed([passed(genuine)], repo)  # type: ignore[arg-type]
    await handlers.on_candidates_ready_for_placement([genuine], repo)  # type: ignore[arg-type]

    assert await placed(repo, clock, job_order, repo.candidates[genuine.candidate_id])


async def test_a_path_started_as_the_candidate_withdrew_is_decided_again_and_refused(
    repo: Repo, clock: Clock
) -> None:
    job_order = order()
    candidate = ready()
    repo.keep(job_order, candidate)

    def withdrawn_meanwhile() -> None:
        announced = withdrawal(candidate)
        repo.withdrawals[candidate.candidate_id] = Withdrawal.announced(announced, clock.now())

    repo.meanwhile = withdrawn_meanwhile
    outcomes = await handlers.place_candidates(
        [PlaceCandidate(job_order.id, candidate.candidate_id)],
        repo,
        clock,  # type: ignore[arg-type]
    )

    assert verdicts(outcomes) == ["candidate_withdrawn"]
    assert (repo.stored, repo.orders[job_order.id].filled, repo.outbox) == ({}, 0, [])


async def test_withdrawals_heard_twice_change_nothing_more(repo: Repo, clock: Clock) -> None:
    job_order = order(slots=1)
    candidate = ready()
    repo.keep(job_order, candidate)
    [path] = await placed(repo, clock, job_order, candidate)
    once = withdrawal(candidate)

    await withdraw(repo, clock, once, withdrawal(candidate, TODAY + timedelta(days=1)))
    await withdraw(repo, clock, once)

    assert repo.withdrawals[candidate.candidate_id].withdrawn_on == TODAY
    assert [s.status for s in repo.stored[path].steps] == [S.PLACED, S.WITHDRAWN]
    assert repo.orders[job_order.id].filled == 0


# --- SSW (i): five years in Japan in all ----------------------------------------------------


async def test_an_ssw_contract_beyond_five_years_in_japan_in_all_is_refused(
    repo: Repo, clock: Clock
) -> None:
    first, too_long, fits = (
        order(track=Track.SSW, contract_months=months) for months in (60, 23, 22)
    )
    candidate = ready(track=Track.SSW)
    repo.keep(first, too_long, fits, candidate)
    [stay] = await placed(repo, clock, first, candidate)
    await advance(repo, clock, stay, Step.ISSUE_COE, Step.ISSUE_VISA, Step.DEPART)
    back = date(2030, 2, 20)  # 3 years, 1 month and 5 days: 38 months begun
    clock.moment = noon(back)
    reason = EarlyReturnReason.EMPLOYER_FAILURE
    assert await advance(repo, clock, stay, Step.RETURN_EARLY, on=back, reason=reason) == [
        "accepted"
    ]

    [refused] = await handlers.place_candidates(
        [PlaceCandidate(too_long.id, candidate.candidate_id)],
        repo,
        clock,  # type: ignore[arg-type]
    )
    assert isinstance(refused, Refused)
    assert (refused.refusal.rule, refused.refusal.details["months_served"]) == (
        "track_total_exceeded",
        38,
    )
    assert refused.refusal.message == (
        f"candidate {candidate.candidate_id} has spent 38 months in Japan on SSW already: the"
        f" 23-month contract of job order {too_long.id} would make 61, more than the 60 months"
        " allowed in all (SSW (i) allows 5 years in Japan in all, whatever the number of"
        " contracts)"
    )
    [shortlisted] = await handlers.shortlist_candidates(
        [ShortlistCandidate(too_long.id, candidate.candidate_id, back)],
        repo,
        clock,  # type: ignore[arg-type]
    )
    assert verdicts([shortlisted]) == ["track_total_exceeded"]
    assert await placed(repo, clock, fits, candidate)
