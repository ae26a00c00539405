"""Every registration handler against an in-memory repository and a fixed clock: no database, no
NATS. The integration tests run the same handlers on SQLite and PostgreSQL through the API."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import pytest

from jembatan_contracts import (
    CandidateDataCorrected,
    CandidateIdentityCleared,
    CandidateRegistered,
    CandidateWithdrawn,
    DuplicateRegistrationFound,
    Event,
    IdentityCheck,
    Track,
    WithdrawalReason,
)
from jembatan_contracts.identity import Notice, NoticesReply, Standing
from jembatan_kit.errors import RuleViolation
from jembatan_registration.adapters.national_index import IndexUnavailable, NationalIndex, Person
from jembatan_registration.adapters.repository import RegistrationRepository, WriteConflicts
from jembatan_registration.domain.candidate import Candidate
from jembatan_registration.domain.duplicates import (
    DUPLICATE_REFUSALS_PER_DAY,
    REFUSED_ELSEWHERE,
    ActiveRegistration,
    ActiveRegistrations,
    NikRead,
    RegisteredElsewhere,
    RegisteredNationally,
    Registrar,
)
from jembatan_registration.domain.model import (
    CandidateStatus,
    CorrectCandidate,
    NationalCheck,
    RegisterCandidate,
    Sex,
    UnreadableRegistration,
    Upload,
    WithdrawCandidate,
)
from jembatan_registration.service_layer import uploads
from jembatan_registration.service_layer.handlers import (
    Corrected,
    Refused,
    Registered,
    correct_candidates,
    inform_index,
    raise_if_refused,
    register_candidates,
    withdraw_candidates,
)

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment

    def today(self) -> date:
        return self.moment.date()


class FakeRepository(RegistrationRepository):
    """The repository's contract in memory. What `save` writes is `stored`, `outbox`,
    `nik_reads` and `uploads`; a candidate read is a copy, so a change not saved is lost, as it
    would be in a rolled-back transaction. `meanwhile` and `change_meanwhile` play a request at
    the same moment that commits between the handler's reads and its save."""

    def __init__(self) -> None:
        self.stored: dict[uuid.UUID, Candidate] = {}
        self.outbox: list[Event] = []
        self.nik_reads: list[NikRead] = []
        self.uploads: list[Upload] = []
        self.saves = 0
        self._new: list[Candidate] = []
        self._seen: dict[uuid.UUID, Candidate] = {}
        self._pending_reads: list[NikRead] = []
        self._pending_uploads: list[Upload] = []
        self._meanwhile: list[Candidate] = []
        self._changed_meanwhile: set[uuid.UUID] = set()
        self.cursor: tuple[str | None, int] = (None, 0)
        self._pending_cursor: tuple[str, int] | None = None

    def _differs(self, candidate: Candidate) -> bool:
        stored = self.stored.get(candidate.id)
        return stored is not None and (
            stored.index_due,
            stored.national_check,
        ) != (candidate.index_due, candidate.national_check)

    def meanwhile(self, candidate: Candidate) -> None:
        self._meanwhile.append(candidate)

    def change_meanwhile(self, candidate_id: uuid.UUID) -> None:
        self._changed_meanwhile.add(candidate_id)

    def holder(self, nik: str) -> Candidate | None:
        for candidate in self.stored.values():
            if candidate.nik == nik and candidate.status is CandidateStatus.ACTIVE:
                return candidate
        return None

    async def active_registrations(self, niks: Collection[str]) -> dict[str, ActiveRegistration]:
        holders = {nik: self.holder(nik) for nik in niks}
        return {
            nik: ActiveRegistration(holder.id, holder.agency)
            for nik, holder in holders.items()
            if holder is not None
        }

    async def get_many(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Candidate]:
        found = {id_: copy.deepcopy(self.stored[id_]) for id_ in ids if id_ in self.stored}
        self._seen |= found
        return found

    def add(self, candidate: Candidate) -> None:
        self._new.append(candidate)

    def add_nik_read(self, read: NikRead) -> None:
        self._pending_reads.append(read)

    async def refusals_elsewhere(self, reader: str, since: datetime) -> int:
        return sum(
            1
            for read in self.nik_reads
            if read.reader == reader and read.reason == REFUSED_ELSEWHERE and read.read_at > since
        )

    async def upload_of(self, agency: str, sha256: str) -> Upload | None:
        return next((u for u in self.uploads if (u.agency, u.sha256) == (agency, sha256)), None)

    def add_upload(self, upload: Upload) -> None:
        self._pending_uploads.append(upload)

    async def due_for_index(self, limit: int) -> list[Candidate]:
        due = sorted(
            (c for c in self.stored.values() if c.index_due), key=lambda c: c.registered_at
        )[:limit]
        return list((await self.get_many([c.id for c in due])).values())

    async def index_cursor(self) -> tuple[str | None, int]:
        return self.cursor

    def set_index_cursor(self, epoch: str, after: int) -> None:
        self._pending_cursor = (epoch, after)

    async def send_all_to_index(self) -> int:
        active = [c for c in self.stored.values() if c.status is CandidateStatus.ACTIVE]
        for candidate in active:
            candidate.index_due = True
        return len(active)

    def discard(self, candidate_id: uuid.UUID) -> None:
        self._seen.pop(candidate_id, None)

    async def save(self) -> WriteConflicts:
        self.saves += 1
        if self._pending_cursor is not None:
            self.cursor, self._pending_cursor = self._pending_cursor, None
        for winner in self._meanwhile:
            self.stored[winner.id] = winner
        self._meanwhile.clear()
        conflicts = WriteConflicts()
        written: list[Candidate] = []
        for candidate in self._new:
            if self.holder(candidate.nik) is not None:
                conflicts.nik_taken.add(candidate.id)
            else:
                written.append(candidate)
                self.stored[candidate.id] = copy.deepcopy(candidate)
        for candidate in [c for c in self._seen.values() if c.events or self._differs(c)]:
            holder = self.holder(candidate.nik)
            if candidate.id in self._changed_meanwhile:
                conflicts.changed_meanwhile.add(candidate.id)
            elif holder is not None and holder.id != candidate.id:
                conflicts.nik_taken.add(candidate.id)
            else:
                written.append(candidate)
                self.stored[candidate.id] = copy.deepcopy(candidate)
        for candidate in written:
            self.outbox += candidate.events
        for candidate in [*self._new, *self._seen.values()]:
            candidate.events.clear()
        for candidate in self.stored.values():
            candidate.events.clear()
        self.nik_reads += self._pending_reads
        self.uploads += self._pending_uploads
        self._new, self._seen, self._pending_reads, self._pending_uploads = [], {}, [], []
        return conflicts


@pytest.fixture
def repo() -> FakeRepository:
    return FakeRepository()


CLERK = Registrar("clerk", "kaltim")
PROBER = Registrar("prober", "kota-serang")
KEMNAKER = Registrar("analyst", "kemnaker", national=True)


def siti(**overrides: Any) -> RegisterCandidate:
    values: dict[str, Any] = {
        "agency": "kaltim",
        "nik": "6471054506040003",
        "full_name": "Siti Rahmawati",
        "birth_date": date(2004, 6, 5),
        "sex": Sex.FEMALE,
        "education": "SMK",
        "track": Track.TITP,
        "preferred_sector": "caregiver",
        "phone": "+62812000111",
    }
    return RegisterCandidate(**(values | overrides))


def woman(serial: int, agency: str = "kaltim") -> RegisterCandidate:
    """Women born 2004-06-05 in Kalimantan Timur, as their NIKs say."""
    return siti(agency=agency, nik=f"647105450604{serial:04d}", full_name=f"Person {serial}")


def stored_candidate(command: RegisterCandidate) -> Candidate:
    candidate, _ = Candidate.register(command, NOW, ActiveRegistrations())
    candidate.events.clear()
    return candidate


async def registered(repo: FakeRepository, *commands: RegisterCandidate) -> list[uuid.UUID]:
    outcomes = await register_candidates(commands, repo, FixedClock(), KEMNAKER)
    repo.outbox.clear()
    return [raise_if_refused(outcome).candidate_id for outcome in outcomes]


def registered_id(outcome: object) -> uuid.UUID:
    assert isinstance(outcome, Registered), outcome
    return outcome.candidate_id


def refusal_of(outcome: object) -> RuleViolation:
    assert isinstance(outcome, Refused), outcome
    return outcome.refusal


# --- register_candidates ------------------------------------------------------------------------


async def test_a_registration_is_stored_and_announced_without_personal_data(
    repo: FakeRepository,
) -> None:
    [outcome] = await register_candidates([siti()], repo, FixedClock(), CLERK)

    assert isinstance(outcome, Registered)
    assert outcome.decision.accepted and outcome.decision.warnings == []
    candidate = repo.stored[outcome.candidate_id]
    assert (candidate.status, candidate.registered_at) == (CandidateStatus.ACTIVE, NOW)
    [event] = repo.outbox
    assert isinstance(event, CandidateRegistered)
    assert (event.candidate_id, event.journey_id) == (outcome.candidate_id, outcome.journey_id)
    assert (event.agency, event.province_code, event.registered_on) == ("kaltim", "64", NOW.date())
    assert event.rules_checked == [check.rule for check in outcome.decision.checks]
    for personal in ("6471054506040003", "Siti", "+62812000111"):
        assert personal not in event.model_dump_json()


async def test_a_refusal_names_every_broken_rule_and_stores_nothing(
    repo: FakeRepository,
) -> None:
    [outcome] = await register_candidates(
        [siti(nik="12345", birth_date=date(2015, 1, 1))], repo, FixedClock(), CLERK
    )

    refusal = refusal_of(outcome)
    assert refusal.rule == "registration_refused" and refusal.status_code == 422
    checks: Any = refusal.details["checks"]
    assert [c["rule"] for c in checks if not c["passed"]] == ["nik_format", "minimum_age"]
    assert repo.stored == {} and repo.outbox == []


async def test_a_list_is_judged_item_by_item_in_order_as_single_requests_would_be(
    repo: FakeRepository,
) -> None:
    commands = [woman(1), siti(nik="12345"), woman(1), woman(2)]

    together = await register_candidates(commands, repo, FixedClock(), CLERK)

    alone = FakeRepository()
    one_by_one = [
        (await register_candidates([command], alone, FixedClock(), CLERK))[0]
        for command in commands
    ]
    for outcomes in (together, one_by_one):
        assert [type(outcome) for outcome in outcomes] == [Registered, Refused, Refused, Registered]
        assert refusal_of(outcomes[1]).rule == "registration_refused"
        twice = refusal_of(outcomes[2])
        assert twice.rule == "one_active_registration"
        assert twice.details["existing_candidate_id"] == str(registered_id(outcomes[0]))
    assert len(repo.outbox) == len(alone.outbox) == 2
    assert repo.saves <= 2, "a list is saved at once, not item by item"


async def test_a_nik_registered_elsewhere_is_refused_saying_only_that_and_logged(
    repo: FakeRepository,
) -> None:
    [kaltims] = await registered(repo, woman(1))

    [outcome] = await register_candidates(
        [woman(1, agency="kota-serang")], repo, FixedClock(), PROBER
    )

    refusal = refusal_of(outcome)
    assert isinstance(refusal, RegisteredElsewhere) and refusal.status_code == 409
    assert "another agency" in refusal.message
    assert "kaltim" not in str(refusal) and str(kaltims) not in str(refusal)
    assert repo.nik_reads == [NikRead(kaltims, "prober (kota-serang)", REFUSED_ELSEWHERE, NOW)]


async def test_once_the_days_refusals_elsewhere_are_spent_every_row_after_is_paused(
    repo: FakeRepository,
) -> None:
    await registered(repo, *(woman(serial) for serial in range(1, 4)))
    earlier = [
        NikRead(uuid.uuid4(), PROBER.reader, REFUSED_ELSEWHERE, NOW - timedelta(hours=23))
        for _ in range(DUPLICATE_REFUSALS_PER_DAY - 2)
    ]
    repo.nik_reads += earlier
    probe = [
        woman(1, "kota-serang"),
        UnreadableRegistration(RuleViolation("bulk_row", "sex: 'X' must be M or F")),
        woman(2, "kota-serang"),
        woman(99, "kota-serang"),  # free, but refused alike
        UnreadableRegistration(RuleViolation("bulk_row", "sex: 'X' must be M or F")),
    ]

    outcomes = await register_candidates(probe, repo, FixedClock(), PROBER)

    rules = [refusal_of(outcome).rule for outcome in outcomes]
    assert (
        rules
        == ["one_active_registration", "bulk_row", "one_active_registration"]
        + ["registration_paused"] * 2
    )
    assert refusal_of(outcomes[3]).status_code == 429
    assert len(repo.nik_reads) == len(earlier) + 2
    with pytest.raises(RuleViolation) as paused:
        await register_candidates([woman(100, "kota-serang")], repo, FixedClock(), PROBER)
    assert (paused.value.rule, paused.value.status_code) == ("registration_paused", 429)

    tomorrow = FixedClock(NOW + timedelta(days=1, seconds=1))
    [outcome] = await register_candidates([woman(100, "kota-serang")], repo, tomorrow, PROBER)
    assert isinstance(outcome, Registered), "the pause ends 24 hours after the refusals"
    [colleague] = await register_candidates(
        [woman(101, "kota-serang")], repo, FixedClock(), Registrar("clerk", "kota-serang")
    )
    assert isinstance(colleague, Registered), "the pause is the prober's, not the agency's"


async def test_kemnaker_is_never_paused(repo: FakeRepository) -> None:
    repo.nik_reads += [
        NikRead(uuid.uuid4(), KEMNAKER.reader, REFUSED_ELSEWHERE, NOW)
    ] * DUPLICATE_REFUSALS_PER_DAY

    [outcome] = await register_candidates([woman(1)], repo, FixedClock(), KEMNAKER)

    assert isinstance(outcome, Registered)


async def test_a_nik_taken_by_a_request_at_the_same_moment_refuses_that_item_only(
    repo: FakeRepository,
) -> None:
    winner = stored_candidate(woman(2, agency="boyolali"))
    repo.meanwhile(winner)

    outcomes = await register_candidates([woman(1), woman(2), woman(3)], repo, FixedClock(), CLERK)

    assert [type(outcome) for outcome in outcomes] == [Registered, Refused, Registered]
    lost = refusal_of(outcomes[1])
    assert isinstance(lost, RegisteredElsewhere)
    announced = [
        event.candidate_id for event in repo.outbox if isinstance(event, CandidateRegistered)
    ]
    assert announced == [registered_id(outcomes[0]), registered_id(outcomes[2])]
    assert len(repo.outbox) == 2
    assert repo.nik_reads == [NikRead(winner.id, CLERK.reader, REFUSED_ELSEWHERE, NOW)]
    assert repo.holder(woman(2).nik) is winner


# --- withdraw_candidates ------------------------------------------------------------------------


async def test_a_withdrawal_is_stored_and_announced_without_its_note(
    repo: FakeRepository,
) -> None:
    [candidate_id] = await registered(repo, siti())

    [outcome] = await withdraw_candidates(
        [WithdrawCandidate(candidate_id, WithdrawalReason.FAMILY, "mother is ill")],
        repo,
        FixedClock(),
    )

    assert outcome == candidate_id
    assert repo.stored[candidate_id].status is CandidateStatus.WITHDRAWN
    [event] = repo.outbox
    assert isinstance(event, CandidateWithdrawn)
    assert (event.reason, event.withdrawn_on) == (WithdrawalReason.FAMILY, NOW.date())
    assert "ill" not in event.model_dump_json()
    [again] = await register_candidates([siti(agency="kota-serang")], repo, FixedClock(), PROBER)
    assert isinstance(again, Registered), "a withdrawn candidate may register again"


async def test_a_withdrawal_is_refused_for_the_withdrawn_and_the_unknown(
    repo: FakeRepository,
) -> None:
    [candidate_id] = await registered(repo, siti())
    unknown = uuid.uuid4()
    commands = [
        WithdrawCandidate(candidate_id, WithdrawalReason.HEALTH),
        WithdrawCandidate(candidate_id, WithdrawalReason.HEALTH),
        WithdrawCandidate(unknown, WithdrawalReason.HEALTH),
    ]

    outcomes = await withdraw_candidates(commands, repo, FixedClock())

    assert outcomes[0] == candidate_id
    assert refusal_of(outcomes[1]).rule == "already_withdrawn"
    assert (refusal_of(outcomes[2]).rule, refusal_of(outcomes[2]).status_code) == (
        "not_found",
        404,
    )
    assert len(repo.outbox) == 1


async def test_a_candidate_changed_at_the_same_moment_is_not_withdrawn_twice(
    repo: FakeRepository,
) -> None:
    [candidate_id] = await registered(repo, siti())
    repo.change_meanwhile(candidate_id)

    [outcome] = await withdraw_candidates(
        [WithdrawCandidate(candidate_id, WithdrawalReason.HEALTH)], repo, FixedClock()
    )

    assert refusal_of(outcome).rule == "changed_meanwhile"
    assert repo.outbox == [] and repo.stored[candidate_id].status is CandidateStatus.ACTIVE


# --- correct_candidates -------------------------------------------------------------------------


async def test_a_correction_is_stored_and_names_the_fields_without_personal_values(
    repo: FakeRepository,
) -> None:
    [candidate_id] = await registered(repo, siti())
    changes = {"full_name": "Siti Rahmawati Putri", "education": "D3"}

    [outcome] = await correct_candidates(
        [CorrectCandidate(candidate_id, changes)], repo, FixedClock(), CLERK
    )

    assert outcome == Corrected(candidate_id, [])
    stored = repo.stored[candidate_id]
    assert (stored.full_name, stored.education) == ("Siti Rahmawati Putri", "D3")
    [event] = repo.outbox
    assert isinstance(event, CandidateDataCorrected)
    assert event.corrected_fields == ["education", "full_name"]
    assert (event.education, event.preferred_sector, event.province_code) == ("D3", None, None)
    assert "Putri" not in event.model_dump_json()


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"nik": "6471059906040003"}, "correction_refused"),
        ({"education": "SMK"}, "nothing_to_correct"),
        ({"track": "SSW"}, "not_correctable"),
    ],
)
async def test_a_correction_that_breaks_a_rule_changes_nothing(
    repo: FakeRepository, changes: dict[str, Any], rule: str
) -> None:
    [candidate_id] = await registered(repo, siti())

    [outcome] = await correct_candidates(
        [CorrectCandidate(candidate_id, changes)], repo, FixedClock(), CLERK
    )

    assert refusal_of(outcome).rule == rule
    assert repo.stored[candidate_id].nik == siti().nik and repo.outbox == []


async def test_a_correction_is_judged_on_the_date_the_registration_was_judged_on(
    repo: FakeRepository,
) -> None:
    """Selected at 26 sixty days back, 27 today: a later correction still judges the
    registration on its selection date, not on today or the registration date."""
    selection_date = NOW.date() - timedelta(days=60)
    budi = siti(
        nik="6471051010990003",
        full_name="Budi Santoso",
        birth_date=date(1999, 10, 10),
        sex=Sex.MALE,
        selection_date=selection_date,
    )
    [candidate_id] = await registered(repo, budi)
    assert repo.stored[candidate_id].selection_date == selection_date
    later = FixedClock(NOW + timedelta(days=200))

    [outcome] = await correct_candidates(
        [CorrectCandidate(candidate_id, {"phone": "+62812000999"})], repo, later, CLERK
    )

    assert outcome == Corrected(candidate_id, [])


async def test_a_withdrawn_or_unknown_candidate_is_not_corrected(repo: FakeRepository) -> None:
    [candidate_id] = await registered(repo, siti())
    await withdraw_candidates(
        [WithdrawCandidate(candidate_id, WithdrawalReason.OTHER)], repo, FixedClock()
    )
    commands = [
        CorrectCandidate(candidate_id, {"education": "D3"}),
        CorrectCandidate(uuid.uuid4(), {"education": "D3"}),
    ]

    outcomes = await correct_candidates(commands, repo, FixedClock(), CLERK)

    assert [refusal_of(outcome).rule for outcome in outcomes] == ["withdrawn", "not_found"]


async def test_a_nik_corrected_to_one_registered_elsewhere_is_refused_and_logged(
    repo: FakeRepository,
) -> None:
    [kaltims] = await registered(repo, woman(1))
    [own, serangs] = await registered(repo, woman(2, "kota-serang"), woman(3, "kota-serang"))

    outcomes = await correct_candidates(
        [
            CorrectCandidate(serangs, {"nik": woman(1).nik}),
            CorrectCandidate(serangs, {"nik": woman(2).nik}),
        ],
        repo,
        FixedClock(),
        PROBER,
    )

    elsewhere, own_agency = (refusal_of(outcome) for outcome in outcomes)
    assert isinstance(elsewhere, RegisteredElsewhere)
    assert own_agency.details["existing_candidate_id"] == str(own)
    assert repo.nik_reads == [NikRead(kaltims, PROBER.reader, REFUSED_ELSEWHERE, NOW)]
    assert repo.stored[serangs].nik == woman(3).nik


async def test_only_a_nik_correction_is_paused_once_the_refusals_are_spent(
    repo: FakeRepository,
) -> None:
    [candidate_id] = await registered(repo, woman(1, "kota-serang"))
    repo.nik_reads += [
        NikRead(uuid.uuid4(), PROBER.reader, REFUSED_ELSEWHERE, NOW)
    ] * DUPLICATE_REFUSALS_PER_DAY

    nik, education = await correct_candidates(
        [
            CorrectCandidate(candidate_id, {"nik": woman(2).nik}),
            CorrectCandidate(candidate_id, {"education": "D3"}),
        ],
        repo,
        FixedClock(),
        PROBER,
    )

    assert refusal_of(nik).rule == "registration_paused"
    assert isinstance(education, Corrected)


async def test_a_nik_taken_at_the_same_moment_refuses_the_correction(
    repo: FakeRepository,
) -> None:
    [candidate_id] = await registered(repo, woman(1))
    repo.meanwhile(stored_candidate(woman(2)))

    [outcome] = await correct_candidates(
        [CorrectCandidate(candidate_id, {"nik": woman(2).nik})], repo, FixedClock(), CLERK
    )

    assert refusal_of(outcome).rule == "one_active_registration"
    assert repo.stored[candidate_id].nik == woman(1).nik and repo.outbox == []


# --- uploads.register_upload --------------------------------------------------------------------

HEADER = "nik,full_name,birth_date,sex,education,track,preferred_sector\n"


def csv_row(command: RegisterCandidate, **overrides: str) -> str:
    values = {
        "nik": command.nik,
        "full_name": command.full_name,
        "birth_date": command.birth_date.isoformat(),
        "sex": command.sex.value,
        "education": command.education,
        "track": command.track.value,
        "preferred_sector": command.preferred_sector,
    } | overrides
    return ",".join(values.values()) + "\n"


async def test_an_upload_answers_each_row_in_its_place_and_once(repo: FakeRepository) -> None:
    content = (
        HEADER
        + csv_row(woman(1))
        + csv_row(woman(2), nik="6471054506040000")
        + csv_row(woman(3), birth_date="2004-13-01")
        + csv_row(woman(1))
    ).encode()

    summary = await uploads.register_upload("kaltim", content, repo, FixedClock(), CLERK)

    assert (summary["accepted"], summary["refused"], summary["replayed"]) == (1, 3, False)
    lines = {row["line"]: row for row in summary["rows"]}
    assert lines[2]["status"] == "accepted" and lines[2]["nik_masked"] == "6471************"
    assert lines[3]["errors"][0]["rule"] == "nik_serial"
    assert lines[4]["errors"] == [
        {"rule": "bulk_row", "message": "birth_date: '2004-13-01' is not a date as YYYY-MM-DD"}
    ]
    assert lines[5]["errors"][0]["rule"] == "one_active_registration"
    assert len(repo.outbox) == 1

    replay = await uploads.register_upload("kaltim", content, repo, FixedClock(), CLERK)
    assert replay == summary | {"replayed": True}
    assert len(repo.stored) == 1 and len(repo.outbox) == 1


async def test_a_file_without_the_required_columns_registers_nobody(
    repo: FakeRepository,
) -> None:
    with pytest.raises(RuleViolation) as refused:
        await uploads.register_upload(
            "kaltim", b"nik,name\n6471054506040001,Siti\n", repo, FixedClock(), CLERK
        )

    assert refused.value.rule == "bulk_header" and "full_name" in refused.value.message
    assert repo.stored == {} and repo.uploads == []


# --- the national identity index -----------------------------------------------------------


class FakeIndex(NationalIndex):
    """The national identity index in memory: who holds each NIK, and the notices it gives.
    While `reachable` is False every call raises IndexUnavailable, as a cut leaf link does."""

    def __init__(self) -> None:
        self.reachable = True
        self.holders: dict[str, uuid.UUID] = {}
        self.recorded: list[uuid.UUID] = []
        self.released: list[uuid.UUID] = []
        self.given: list[Notice] = []

    def _up(self) -> None:
        if not self.reachable:
            raise IndexUnavailable("no responders")

    async def claim(
        self, mode: Literal["check", "record"], people: Sequence[Person]
    ) -> list[Standing]:
        self._up()
        standings = []
        for one in people:
            holder = self.holders.get(one.nik)
            if mode == "check" and holder not in (None, one.candidate_id):
                standings.append(Standing.HELD_ELSEWHERE)
                continue
            self.holders.setdefault(one.nik, one.candidate_id)
            self.recorded.append(one.candidate_id)
            standings.append(Standing.CLEARED)
        return standings

    async def release(self, candidate_ids: Sequence[uuid.UUID]) -> None:
        self._up()
        self.released += candidate_ids

    async def notices(self, after: int, epoch: str | None) -> NoticesReply:
        self._up()
        return NoticesReply(epoch="e1", notices=[n for n in self.given if n.sequence > after])

    def notice(self, candidate_id: uuid.UUID, standing: Standing) -> None:
        self.given.append(
            Notice(
                sequence=len(self.given) + 1,
                candidate_id=candidate_id,
                standing=standing,
                reason=f"{standing.value} by the index",
            )
        )


@pytest.fixture
def index() -> FakeIndex:
    return FakeIndex()


async def test_a_person_the_index_holds_elsewhere_is_refused_as_registered_elsewhere(
    repo: FakeRepository, index: FakeIndex
) -> None:
    index.holders[siti().nik] = uuid.uuid4()  # registered by another province's service
    [outcome] = await register_candidates([siti()], repo, FixedClock(), CLERK, index)
    assert isinstance(outcome, Refused)
    assert isinstance(outcome.refusal, RegisteredNationally)
    assert outcome.refusal.rule == "one_active_registration"
    assert "another agency" in outcome.refusal.message
    assert repo.stored == {} and repo.outbox == []


async def test_national_refusals_count_against_the_days_limit(
    repo: FakeRepository, index: FakeIndex
) -> None:
    commands = [woman(serial) for serial in range(1, DUPLICATE_REFUSALS_PER_DAY + 3)]
    for command in commands:
        index.holders[command.nik] = uuid.uuid4()
    free = woman(99)
    outcomes = await register_candidates([*commands, free], repo, FixedClock(), CLERK, index)
    rules = [o.refusal.rule for o in outcomes if isinstance(o, Refused)]
    assert rules[:DUPLICATE_REFUSALS_PER_DAY] == ["one_active_registration"] * 10
    assert set(rules[DUPLICATE_REFUSALS_PER_DAY:]) == {"registration_paused"}
    assert len(rules) == len(outcomes), "the free NIK after the limit is paused too"


async def test_registered_while_the_index_is_out_of_reach_is_provisional_until_it_answers(
    repo: FakeRepository, index: FakeIndex
) -> None:
    index.reachable = False
    [outcome] = await register_candidates([siti()], repo, FixedClock(), CLERK, index)
    assert isinstance(outcome, Registered)
    assert outcome.national_check is NationalCheck.PROVISIONAL
    [announced] = repo.outbox
    assert isinstance(announced, CandidateRegistered)
    assert announced.identity_check is IdentityCheck.PROVISIONAL
    with pytest.raises(IndexUnavailable):
        await inform_index(repo, index, FixedClock())
    assert repo.stored[outcome.candidate_id].index_due

    index.reachable = True
    index.notice(outcome.candidate_id, Standing.SUSPENDED)
    repo.outbox.clear()
    await inform_index(repo, index, FixedClock())
    assert index.recorded == [outcome.candidate_id]
    stored = repo.stored[outcome.candidate_id]
    assert not stored.index_due and stored.national_check is NationalCheck.SUSPENDED
    [found] = repo.outbox
    assert isinstance(found, DuplicateRegistrationFound) and found.suspended
    assert "suspended" in found.reason

    index.notice(outcome.candidate_id, Standing.CLEARED)
    repo.outbox.clear()
    await inform_index(repo, index, FixedClock())
    assert repo.stored[outcome.candidate_id].national_check is NationalCheck.CLEARED
    assert [type(e) for e in repo.outbox] == [CandidateIdentityCleared]
    await inform_index(repo, index, FixedClock())  # the same notices again change nothing
    assert [type(e) for e in repo.outbox] == [CandidateIdentityCleared]


async def test_a_withdrawal_is_sent_to_the_index_as_a_release(
    repo: FakeRepository, index: FakeIndex
) -> None:
    [registered] = await register_candidates([siti()], repo, FixedClock(), CLERK, index)
    assert isinstance(registered, Registered)
    assert registered.national_check is NationalCheck.CLEARED
    await withdraw_candidates(
        [WithdrawCandidate(registered.candidate_id, WithdrawalReason.PERSONAL)], repo, FixedClock()
    )
    await inform_index(repo, index, FixedClock())
    assert index.released == [registered.candidate_id]
    assert not repo.stored[registered.candidate_id].index_due


async def test_a_registration_that_wins_the_nik_at_the_commit_is_recorded_again(
    repo: FakeRepository, index: FakeIndex
) -> None:
    """The same person sent to kaltim twice at once: the index let the second claim take the
    person from the first (an agency's own claims give way), and the first won at the commit.
    The loser is released and the winner recorded again, so the index holds the registration
    that stands."""
    winner = stored_candidate(woman(2))
    repo.meanwhile(winner)

    [outcome] = await register_candidates([woman(2)], repo, FixedClock(), CLERK, index)

    assert isinstance(outcome, Refused)
    assert index.released == [index.recorded[0]]
    assert index.recorded[-1] == winner.id


# --- a dry run (POST /candidates/check) ---------------------------------------------------------


async def test_a_dry_run_judges_as_a_registration_does_and_keeps_nothing(
    repo: FakeRepository, index: FakeIndex
) -> None:
    [own] = await registered(repo, woman(1))
    commands: list[RegisterCandidate | UnreadableRegistration] = [
        woman(2),
        siti(nik="12345", birth_date=date(2015, 1, 1)),
        woman(1),
        siti(nik="6471051506040001"),  # a man's NIK, declared a woman born 2004-06-05
    ]

    checked = await register_candidates(commands, repo, FixedClock(), CLERK, index, dry_run=True)

    assert (repo.stored.keys(), repo.outbox, repo.nik_reads) == ({own}, [], [])
    assert index.recorded == [] and index.holders == {}, "nothing is claimed at the index"
    real = await register_candidates(commands, FakeRepository(), FixedClock(), CLERK)
    really = await register_candidates(commands[2:3], repo, FixedClock(), CLERK)
    for dry, wet in zip(checked, [*real[:2], *really, real[3]], strict=True):
        assert type(dry) is type(wet)
        if isinstance(dry, Refused) and isinstance(wet, Refused):
            assert (dry.refusal.rule, dry.refusal.status_code, dry.refusal.details.keys()) == (
                wet.refusal.rule,
                wet.refusal.status_code,
                wet.refusal.details.keys(),
            )
    assert refusal_of(checked[2]).details["existing_candidate_id"] == str(own)
    warned = checked[3]
    assert isinstance(warned, Registered)
    assert [w.split(",")[0] for w in warned.decision.warnings] == [
        "NIK encodes birth date 2004-06-15",
        "NIK encodes sex male",
    ]


async def test_a_dry_run_does_not_tell_that_another_agency_holds_the_nik(
    repo: FakeRepository,
) -> None:
    """That answer is logged for the agency holding the candidate and counted against the
    registrar's daily limit: only the registration itself gives it."""
    await registered(repo, woman(1))

    [outcome] = await register_candidates(
        [woman(1, agency="kota-serang")], repo, FixedClock(), PROBER, dry_run=True
    )

    assert isinstance(outcome, Registered)
    assert repo.nik_reads == []
    [real] = await register_candidates([woman(1, agency="kota-serang")], repo, FixedClock(), PROBER)
    assert isinstance(refusal_of(real), RegisteredElsewhere)


async def test_a_registrar_whose_registrations_are_paused_is_refused_a_dry_run_too(
    repo: FakeRepository,
) -> None:
    repo.nik_reads += [
        NikRead(uuid.uuid4(), PROBER.reader, REFUSED_ELSEWHERE, NOW)
    ] * DUPLICATE_REFUSALS_PER_DAY

    with pytest.raises(RuleViolation) as paused:
        await register_candidates(
            [woman(5, "kota-serang")], repo, FixedClock(), PROBER, dry_run=True
        )

    assert (paused.value.rule, paused.value.status_code) == ("registration_paused", 429)
