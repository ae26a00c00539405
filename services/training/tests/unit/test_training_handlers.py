"""Every training handler against the in-memory repository and a clock that stands still
(conftest.py): the rules of each use case, its events, and the same refusals whether an item
comes alone or in a list."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Protocol

import pytest

from jembatan_contracts import (
    CandidateIdentityCleared,
    CandidateReadyForPlacement,
    CandidateRegistered,
    CandidateWithdrawn,
    CertificatePassed,
    DailyScoreRecorded,
    DuplicateRegistrationFound,
    Event,
    IdentityCheck,
    Track,
    WithdrawalReason,
)
from jembatan_contracts import TestKind as ExamKind  # aliased: pytest collects Test* names
from jembatan_kit.consumer import RetryLater, Unprocessable
from jembatan_kit.csv_files import RowError
from jembatan_kit.errors import RuleViolation
from jembatan_training.adapters.repository import Repository, ResultsImport
from jembatan_training.domain.certificates import RecordResult
from jembatan_training.domain.cohorts import Cohort, CreateCohort, Mode, Stage
from jembatan_training.domain.commands import (
    AssignMember,
    ChangeSector,
    ImportResults,
    LeaveCohort,
    RecordCandidateResult,
    RecordDailyScore,
    ResultsFileLine,
)
from jembatan_training.domain.daily_scores import DailyScore
from jembatan_training.domain.enrolment import Enrolment, Recorded
from jembatan_training.service_layer import handlers
from jembatan_training.service_layer.outcomes import only


class Fake(Repository, Protocol):
    """What the tests read of the `repo` fixture (conftest.FakeRepository)."""

    enrolments: dict[uuid.UUID, Enrolment]
    cohorts: dict[uuid.UUID, Cohort]
    imports: dict[str, ResultsImport]
    outbox: list[Event]
    saves: int


Clock = Any  # the `clock` fixture (conftest.FixedClock)

TAKEN_ON = date(2026, 5, 15)
SAMARINDA = Stage("BPVP Samarinda", date(2026, 1, 5), date(2026, 4, 3))


def registered(
    track: Track = Track.TITP, sector: str = "automotive", agency: str = "kaltim"
) -> CandidateRegistered:
    return CandidateRegistered(
        agency=agency,
        journey_id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        track=track,
        preferred_sector=sector,
        education="SMK",
        province_code="64",
        registered_on=date(2026, 1, 12),
    )


async def enrol(repo: Fake, clock: Clock, *registrations: CandidateRegistered) -> list[uuid.UUID]:
    return await handlers.enrol_candidates(list(registrations), repo, clock)


async def enrolled(
    repo: Fake, clock: Clock, track: Track = Track.TITP, sector: str = "automotive"
) -> uuid.UUID:
    [candidate_id] = await enrol(repo, clock, registered(track, sector))
    return candidate_id


def withdrawal(candidate_id: uuid.UUID, agency: str = "kaltim") -> CandidateWithdrawn:
    return CandidateWithdrawn(
        agency=agency,
        journey_id=uuid.uuid4(),
        candidate_id=candidate_id,
        reason=WithdrawalReason.FAMILY,
        withdrawn_on=date(2026, 5, 20),
    )


def result(candidate_id: uuid.UUID, test: ExamKind, **fields: Any) -> RecordCandidateResult:
    values: dict[str, Any] = {"issuer": "Japan Foundation", "taken_on": TAKEN_ON} | fields
    return RecordCandidateResult(candidate_id, RecordResult(test=test, **values))


def jlpt(candidate_id: uuid.UUID, level: str = "N4", **fields: Any) -> RecordCandidateResult:
    return result(candidate_id, ExamKind.JLPT, level=level, **fields)


def rules(outcomes: list[Any]) -> list[str | None]:
    """Each outcome's refused rule, or None where the item was accepted."""
    return [o.rule if isinstance(o, RuleViolation) else None for o in outcomes]


def of_type(repo: Fake, event_type: type[Event]) -> list[Any]:
    return [event for event in repo.outbox if isinstance(event, event_type)]


def cohort(capacity: int = 16, sector: str | None = None, name: str = "Kelas A") -> CreateCohort:
    return CreateCohort(
        "kaltim", "BPVP Samarinda", name, Mode.OFFLINE, [SAMARINDA], capacity, sector
    )


async def opened(repo: Fake, clock: Clock, **fields: Any) -> uuid.UUID:
    return only(await handlers.create_cohorts([cohort(**fields)], repo, clock))


async def seat(
    repo: Fake, clock: Clock, cohort_id: uuid.UUID, *candidates: uuid.UUID, move: bool = False
) -> list[Any]:
    commands = [AssignMember(cohort_id, candidate_id, move) for candidate_id in candidates]
    return await handlers.assign_members(commands, repo, clock)


# Enrolment -------------------------------------------------------------------------------


async def test_a_registration_enrols_the_candidate_once(repo: Fake, clock: Clock) -> None:
    first = registered(Track.SSW, " Caregiver ")
    again = first.model_copy(update={"event_id": uuid.uuid4(), "track": Track.TITP})
    assert await enrol(repo, clock, first, again) == [first.candidate_id] * 2
    await enrol(repo, clock, first)

    enrolment = repo.enrolments[first.candidate_id]
    assert (enrolment.track, enrolment.sector, enrolment.agency) == (
        Track.SSW,
        "caregiver",
        "kaltim",
    )
    assert enrolment.enrolled_at == clock.now()
    assert len(repo.enrolments) == 1
    assert repo.outbox == []


# Withdrawal ------------------------------------------------------------------------------


async def test_a_withdrawal_ends_the_enrolment_and_frees_the_seat(repo: Fake, clock: Clock) -> None:
    leaving, staying = await enrolled(repo, clock), await enrolled(repo, clock)
    cohort_id = await opened(repo, clock, capacity=2)
    await seat(repo, clock, cohort_id, leaving, staying)

    outcomes = await handlers.withdraw_candidates(
        [withdrawal(leaving), withdrawal(leaving)], repo, clock
    )
    assert outcomes == [leaving, leaving]
    enrolment = repo.enrolments[leaving]
    assert (enrolment.withdrawn_on, enrolment.withdrawal_reason) == (date(2026, 5, 20), "family")
    assert enrolment.seat is None
    assert (repo.cohorts[cohort_id].members, repo.cohorts[cohort_id].seats_left) == (1, 1)

    after = [
        await handlers.record_results([jlpt(leaving)], repo, clock),
        await handlers.record_daily_scores(
            [RecordDailyScore(leaving, DailyScore(date(2026, 5, 21), 90))], repo, clock
        ),
        await seat(repo, clock, cohort_id, leaving),
        await handlers.change_sectors([ChangeSector(leaving, "caregiver", "x")], repo, clock),
    ]
    assert [rules(outcomes) for outcomes in after] == [["candidate_withdrawn"]] * 4
    assert repo.outbox == []


async def test_a_withdrawal_waits_for_the_registration_and_must_come_from_its_agency(
    repo: Fake, clock: Clock
) -> None:
    kept = await enrolled(repo, clock)
    unknown = uuid.uuid4()
    early, forged = await handlers.withdraw_candidates(
        [withdrawal(unknown), withdrawal(kept, agency="kota-serang")], repo, clock
    )
    assert isinstance(early, RetryLater)
    assert isinstance(forged, Unprocessable)
    assert str(forged) == (
        f"journey_mismatch: CandidateWithdrawn of candidate {kept} names agency kota-serang but"
        " the candidate was registered by agency kaltim; a forged or broken event, not handled"
    )
    assert repo.enrolments[kept].withdrawn_on is None


# Results ---------------------------------------------------------------------------------


async def test_a_titp_candidate_is_announced_ready_once_with_n4(repo: Fake, clock: Clock) -> None:
    candidate_id = await enrolled(repo, clock)
    below, n4, n3 = [
        only(await handlers.record_results([command], repo, clock))
        for command in (
            result(candidate_id, ExamKind.JFT_BASIC, score=199),
            jlpt(candidate_id, "N4"),
            jlpt(candidate_id, "N3"),
        )
    ]
    assert (below.passed, below.became_ready, below.readiness.ready) == (False, False, False)
    assert (n4.passed, n4.became_ready) == (True, True)
    assert (n3.passed, n3.became_ready, n3.readiness.language_level) == (True, False, "N3")

    passed = of_type(repo, CertificatePassed)
    assert [(e.certificate_id, e.level) for e in passed] == [
        (n4.result_id, "N4"),
        (n3.result_id, "N3"),
    ]
    [ready] = of_type(repo, CandidateReadyForPlacement)
    assert (ready.candidate_id, ready.track, ready.sector, ready.language_level) == (
        candidate_id,
        Track.TITP,
        "automotive",
        "N4",
    )
    assert repo.enrolments[candidate_id].ready_at == clock.now()


async def test_a_failed_jlpt_attempt_is_kept_and_never_counts(repo: Fake, clock: Clock) -> None:
    candidate_id = await enrolled(repo, clock)
    failed = only(
        await handlers.record_results([jlpt(candidate_id, "N3", passed=False)], repo, clock)
    )

    assert (failed.passed, failed.became_ready, failed.readiness.ready) == (False, False, False)
    assert failed.readiness.language_level is None
    [kept] = repo.enrolments[candidate_id].results
    assert (kept.result.level, kept.result.passed) == ("N3", False)
    assert repo.enrolments[candidate_id].ready_at is None
    assert (
        of_type(repo, CertificatePassed) == [] and of_type(repo, CandidateReadyForPlacement) == []
    )

    later = jlpt(candidate_id, "N4", taken_on=TAKEN_ON + timedelta(days=1))
    assert only(await handlers.record_results([later], repo, clock)).became_ready


async def test_results_are_refused_by_rule_and_nothing_is_recorded_for_them(
    repo: Fake, clock: Clock
) -> None:
    candidate_id = await enrolled(repo, clock)
    outcomes = await handlers.record_results(
        [
            jlpt(uuid.uuid4()),
            result(candidate_id, ExamKind.JFT_BASIC, score=251),
            jlpt(candidate_id, taken_on=clock.now().date() + timedelta(days=1)),
            jlpt(candidate_id, "N5"),
            jlpt(candidate_id, "N5"),
        ],
        repo,
        clock,
    )
    assert rules(outcomes) == [
        "candidate_not_enrolled",
        "result_refused",
        "result_refused",
        None,
        "result_already_recorded",
    ]
    unknown, malformed = outcomes[0], outcomes[1]
    assert isinstance(unknown, RuleViolation) and unknown.status_code == 404
    assert isinstance(malformed, RuleViolation)
    assert [r["rule"] for r in malformed.details["failed_rules"]] == ["jft_basic_score"]
    assert len(repo.enrolments[candidate_id].results) == 1
    assert repo.outbox == []


async def test_a_list_of_results_is_judged_as_the_same_results_one_by_one(
    clock: Clock, new_repo: Callable[[], Fake]
) -> None:
    def commands(titp: uuid.UUID, ssw: uuid.UUID) -> list[RecordCandidateResult]:
        return [
            jlpt(titp),
            jlpt(titp),
            result(ssw, ExamKind.JFT_BASIC, score=215),
            result(ssw, ExamKind.SSW_SKILL, sector="agriculture", passed=True),
            result(ssw, ExamKind.JFT_BASIC, score=260),
            jlpt(titp, "N3"),
        ]

    answers = []
    for together in (True, False):
        fake = new_repo()
        titp = await enrolled(fake, clock)
        ssw = await enrolled(fake, clock, Track.SSW, "agriculture")
        if together:
            outcomes = await handlers.record_results(commands(titp, ssw), fake, clock)
        else:
            outcomes = [
                (await handlers.record_results([command], fake, clock))[0]
                for command in commands(titp, ssw)
            ]
        answers.append(
            (
                rules(outcomes),
                [o.became_ready for o in outcomes if isinstance(o, Recorded)],
                # per candidate: the outbox keeps each journey's events in order
                [
                    [type(e).__name__ for e in fake.outbox if e.candidate_id == candidate]
                    for candidate in (titp, ssw)
                ],
            )
        )
    assert answers[0] == answers[1]
    assert answers[0][0] == [None, "result_already_recorded", None, None, "result_refused", None]
    assert answers[0][1] == [True, False, True, False]


async def test_a_results_file_records_good_lines_refuses_bad_ones_and_is_imported_once(
    repo: Fake, clock: Clock
) -> None:
    candidate_id = await enrolled(repo, clock)
    results_file = ImportResults(
        "f" * 64,
        [
            ResultsFileLine(2, str(candidate_id), jlpt(candidate_id)),
            ResultsFileLine(
                3, "not-an-id", RowError("candidate_id", "'not-an-id' is not a candidate id")
            ),
            ResultsFileLine(
                4, str(candidate_id), result(candidate_id, ExamKind.JFT_BASIC, score=260)
            ),
            ResultsFileLine(5, None, RowError("candidate_id", "is empty")),
        ],
    )
    imported = await handlers.import_results(results_file, repo, clock)
    assert (imported.accepted, imported.refused, imported.replayed) == (1, 3, False)
    assert [row["status"] for row in imported.rows] == ["accepted", "refused", "refused", "refused"]
    assert imported.rows[0]["became_ready"] is True
    assert [[(e["rule"], e["column"]) for e in row["errors"]] for row in imported.rows[1:]] == [
        [("bulk_row", "candidate_id")],
        [("jft_basic_score", "score")],
        [("bulk_row", "candidate_id")],
    ]
    assert [row["candidate_id"] for row in imported.rows] == [
        str(candidate_id),
        "not-an-id",
        str(candidate_id),
        None,
    ]

    replay = await handlers.import_results(results_file, repo, clock)
    assert replay.replayed is True
    assert (replay.import_id, replay.rows) == (imported.import_id, imported.rows)
    assert len(repo.enrolments[candidate_id].results) == 1
    assert len(of_type(repo, CertificatePassed)) == 1


# Penjurusan ------------------------------------------------------------------------------


async def test_penjurusan_judges_readiness_on_the_new_sector_until_ready(
    repo: Fake, clock: Clock
) -> None:
    candidate_id = await enrolled(repo, clock, Track.SSW, "automotive")
    await handlers.record_results(
        [
            result(candidate_id, ExamKind.JFT_BASIC, score=215),
            result(candidate_id, ExamKind.SSW_SKILL, sector="agriculture", passed=True),
        ],
        repo,
        clock,
    )
    assert of_type(repo, CandidateReadyForPlacement) == []

    outcomes = await handlers.change_sectors(
        [
            ChangeSector(candidate_id, "agriculture", " "),
            ChangeSector(candidate_id, " Agriculture", "strong practical scores"),
            ChangeSector(candidate_id, "automotive", "changed their mind"),
            ChangeSector(uuid.uuid4(), "automotive", "unknown"),
        ],
        repo,
        clock,
    )
    assert rules(outcomes) == [
        "sector_change_refused",
        None,
        "sector_change_after_ready",
        "candidate_not_enrolled",
    ]
    changed = outcomes[1]
    assert not isinstance(changed, RuleViolation)
    assert (changed.sector, changed.became_ready) == ("agriculture", True)
    [ready] = of_type(repo, CandidateReadyForPlacement)
    assert ready.sector == "agriculture"
    assert "SSW skill test (agriculture)" in ready.satisfied_rules[1]
    assert [c.sector for c in repo.enrolments[candidate_id].sector_changes] == []  # saved


# Daily scores ----------------------------------------------------------------------------


async def test_a_daily_score_is_published_with_the_cohort_and_replaces_the_same_day(
    repo: Fake, clock: Clock
) -> None:
    in_cohort, alone = await enrolled(repo, clock), await enrolled(repo, clock)
    cohort_id = await opened(repo, clock, name="Kelas Jepang 2026-B")
    await seat(repo, clock, cohort_id, in_cohort)
    may_1, may_2 = date(2026, 5, 1), date(2026, 5, 2)

    outcomes = await handlers.record_daily_scores(
        [
            RecordDailyScore(in_cohort, DailyScore(may_1, 70)),
            RecordDailyScore(in_cohort, DailyScore(may_1, 75)),
            RecordDailyScore(alone, DailyScore(may_2, 85)),
            RecordDailyScore(alone, DailyScore(clock.now().date() + timedelta(days=1), 85)),
            RecordDailyScore(alone, DailyScore(may_2, 101)),
        ],
        repo,
        clock,
    )
    assert outcomes[:3] == [False, True, False]
    assert rules(outcomes[3:]) == ["daily_score_refused", "daily_score_refused"]
    published = of_type(repo, DailyScoreRecorded)
    assert [(e.candidate_id, e.day, e.score, e.cohort_id, e.cohort_name) for e in published] == [
        (in_cohort, may_1, 70, cohort_id, "Kelas Jepang 2026-B"),
        (in_cohort, may_1, 75, cohort_id, "Kelas Jepang 2026-B"),
        (alone, may_2, 85, None, None),
    ]
    assert all(e.occurred_at == clock.now() for e in published)


# Cohorts ---------------------------------------------------------------------------------


async def test_a_cohort_opens_with_sixteen_seats_unless_told_and_its_stages_checked(
    repo: Fake, clock: Clock
) -> None:
    outcomes = await handlers.create_cohorts(
        [
            CreateCohort(
                "kaltim",
                " BPVP Samarinda ",
                " Kelas A ",
                Mode.ONLINE,
                [SAMARINDA],
                sector=" Caregiver",
            ),
            cohort(capacity=0),
        ],
        repo,
        clock,
    )
    assert rules(outcomes) == [None, "cohort_refused"]
    refused = outcomes[1]
    assert isinstance(refused, RuleViolation)
    assert [r["rule"] for r in refused.details["failed_rules"]] == ["cohort_capacity"]
    opened_cohort = repo.cohorts[outcomes[0]]
    assert (
        opened_cohort.capacity,
        opened_cohort.seats_left,
        opened_cohort.sector,
        opened_cohort.name,
        opened_cohort.training_centre,
    ) == (16, 16, "caregiver", "Kelas A", "BPVP Samarinda")
    assert len(repo.cohorts) == 1


async def test_a_class_of_sixteen_takes_sixteen_and_refuses_the_seventeenth(
    repo: Fake, clock: Clock
) -> None:
    cohort_id = await opened(repo, clock)
    candidates = [await enrolled(repo, clock) for _ in range(17)]
    outcomes = await seat(repo, clock, cohort_id, *candidates)
    assert rules(outcomes) == [None] * 16 + ["cohort_full"]
    assert outcomes[-1].details == {"capacity": 16}
    assert (repo.cohorts[cohort_id].members, repo.cohorts[cohort_id].seats_left) == (16, 0)
    assert repo.enrolments[candidates[-1]].seat is None


async def test_a_candidate_sits_in_one_cohort_and_moves_only_when_told(
    repo: Fake, clock: Clock
) -> None:
    small = await opened(repo, clock, capacity=2, name="Kelas kecil")
    other = await opened(repo, clock, name="Kelas lain")
    caregivers = await opened(repo, clock, name="Kelas kaigo", sector="caregiver")
    first, second, third = [await enrolled(repo, clock) for _ in range(3)]
    assert rules(await seat(repo, clock, small, first, second, third)) == [
        None,
        None,
        "cohort_full",
    ]

    outcomes = await handlers.assign_members(
        [
            AssignMember(small, first),
            AssignMember(other, first),
            AssignMember(other, first, move=True),
            AssignMember(small, third),  # the seat `first` freed
            AssignMember(small, first, move=True),  # full again: `first` stays where they are
            AssignMember(caregivers, second, move=True),
            AssignMember(uuid.uuid4(), second),
            AssignMember(other, uuid.uuid4()),
        ],
        repo,
        clock,
    )
    assert rules(outcomes) == [
        "already_in_cohort",
        "candidate_in_another_cohort",
        None,
        None,
        "cohort_full",
        "cohort_sector",
        "not_found",
        "candidate_not_enrolled",
    ]
    assert repo.enrolments[first].cohort_id == other
    assert [(d.cohort_id, d.reason) for d in repo.enrolments[first].departures] == []  # saved
    assert (repo.cohorts[small].members, repo.cohorts[other].members) == (2, 1)
    assert {repo.enrolments[c].cohort_id for c in (second, third)} == {small}


async def test_a_candidate_leaves_only_the_cohort_they_sit_in(repo: Fake, clock: Clock) -> None:
    cohort_id = await opened(repo, clock)
    other = await opened(repo, clock, name="Kelas lain")
    member, outsider = await enrolled(repo, clock), await enrolled(repo, clock)
    await seat(repo, clock, cohort_id, member)

    outcomes = await handlers.leave_cohorts(
        [
            LeaveCohort(other, member),
            LeaveCohort(cohort_id, outsider),
            LeaveCohort(cohort_id, uuid.uuid4()),
            LeaveCohort(cohort_id, member),
            LeaveCohort(cohort_id, member),
        ],
        repo,
        clock,
    )
    assert rules(outcomes) == [
        "not_in_cohort",
        "not_in_cohort",
        "not_found",
        None,
        "not_in_cohort",
    ]
    assert repo.enrolments[member].seat is None
    assert repo.cohorts[cohort_id].members == 0


async def test_a_single_request_raises_its_refusal(repo: Fake, clock: Clock) -> None:
    with pytest.raises(RuleViolation) as refused:
        only(await handlers.record_results([jlpt(uuid.uuid4())], repo, clock))
    assert (refused.value.rule, refused.value.status_code) == ("candidate_not_enrolled", 404)


async def test_readiness_waits_for_the_national_identity_check(repo: Fake, clock: Clock) -> None:
    """A provisional registration trains but is not announced ready; a duplicate found holds
    it; once the index clears it, readiness is judged again and announced."""
    provisional = registered().model_copy(update={"identity_check": IdentityCheck.PROVISIONAL})
    [candidate_id] = await enrol(repo, clock, provisional)
    recorded = only(await handlers.record_results([jlpt(candidate_id)], repo, clock))
    assert (recorded.passed, recorded.became_ready) == (True, False)
    assert of_type(repo, CandidateReadyForPlacement) == []
    assert repo.enrolments[candidate_id].national_hold == "provisional"

    found = DuplicateRegistrationFound(
        agency="kaltim",
        journey_id=provisional.journey_id,
        candidate_id=candidate_id,
        suspended=True,
        reason="the later registration of the person",
        found_on=TAKEN_ON,
    )
    assert await handlers.hold_duplicates([found], repo, clock) == [candidate_id]
    assert repo.enrolments[candidate_id].national_hold == "suspended"
    assert of_type(repo, CandidateReadyForPlacement) == []

    cleared = CandidateIdentityCleared(
        agency="kaltim",
        journey_id=provisional.journey_id,
        candidate_id=candidate_id,
        cleared_on=TAKEN_ON,
    )
    assert await handlers.clear_identities([cleared], repo, clock) == [candidate_id]
    assert repo.enrolments[candidate_id].national_hold is None
    [ready] = of_type(repo, CandidateReadyForPlacement)
    assert ready.candidate_id == candidate_id
    await handlers.clear_identities([cleared], repo, clock)  # again: nothing more
    assert len(of_type(repo, CandidateReadyForPlacement)) == 1


async def test_an_identity_event_waits_for_the_registration(repo: Fake, clock: Clock) -> None:
    stranger = uuid.uuid4()
    cleared = CandidateIdentityCleared(
        agency="kaltim", journey_id=uuid.uuid4(), candidate_id=stranger, cleared_on=TAKEN_ON
    )
    [outcome] = await handlers.clear_identities([cleared], repo, clock)
    assert isinstance(outcome, RetryLater)
