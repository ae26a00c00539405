"""The index's handlers against an in-memory repository: no database, no NATS. Sealed NIKs are
sealed with the index's real public key and opened with its private key (PyNaCl)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from jembatan_contracts.identity import (
    Claim,
    ClaimsRequest,
    Notice,
    NoticesRequest,
    ReleasesRequest,
    Standing,
)
from jembatan_identity.adapters.repository import IndexRepository
from jembatan_identity.domain.index import IndexedClaim
from jembatan_identity.service_layer import handlers
from jembatan_kit.sealed_nik import IndexKeys, seal_nik

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
NATIONAL = "kemnaker"
NIK = "6471054506040003"
OTHER_NIK = "3309011506040002"


class FakeIndexRepository(IndexRepository):
    def __init__(self) -> None:
        self.claims: dict[uuid.UUID, IndexedClaim] = {}
        self.notices: list[tuple[str, Notice]] = []

    async def active_by_hash(self, hashes: Collection[str]) -> dict[str, list[IndexedClaim]]:
        found: dict[str, list[IndexedClaim]] = {}
        for claim in self.claims.values():
            if claim.nik_hash in hashes and not claim.released:
                found.setdefault(claim.nik_hash, []).append(_copy(claim))
        return found

    async def by_candidate(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, IndexedClaim]:
        return {i: _copy(self.claims[i]) for i in ids if i in self.claims}

    async def put(self, written: Sequence[tuple[IndexedClaim, bool]], now: datetime) -> None:
        for claim, new in written:
            assert new == (claim.candidate_id not in self.claims)
            self.claims[claim.candidate_id] = _copy(claim)

    async def notify(self, told: Sequence[tuple[IndexedClaim, str]], now: datetime) -> None:
        for claim, reason in told:
            notice = Notice(
                sequence=len(self.notices) + 1,
                candidate_id=claim.candidate_id,
                standing=claim.standing,
                reason=reason,
            )
            self.notices.append((claim.agency, notice))

    async def notices_after(self, agency: str | None, after: int, limit: int) -> list[Notice]:
        return [n for a, n in self.notices if n.sequence > after and agency in (None, a)][:limit]

    async def epoch(self) -> str:
        return "epoch-1"

    async def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for claim in self.claims.values():
            if not claim.released:
                counts[claim.standing.value] = counts.get(claim.standing.value, 0) + 1
        return counts


def _copy(claim: IndexedClaim) -> IndexedClaim:
    return IndexedClaim(**vars(claim))


@pytest.fixture
def keys() -> IndexKeys:
    return IndexKeys.generate()


@pytest.fixture
def repo() -> FakeIndexRepository:
    return FakeIndexRepository()


def claim(keys: IndexKeys, agency: str, nik: str = NIK, minutes: int = 0) -> Claim:
    return Claim(
        candidate_id=uuid.uuid4(),
        agency=agency,
        sealed_nik=seal_nik(nik, keys.public_key),
        registered_at=NOW + timedelta(minutes=minutes),
    )


async def ask(
    repo: FakeIndexRepository, keys: IndexKeys, asker: str, mode: str, *claims: Claim
) -> list[Standing]:
    request = ClaimsRequest(mode=mode, claims=list(claims))  # type: ignore[arg-type]
    reply = await handlers.claim(asker, request, repo, keys, NOW, NATIONAL)
    assert reply.error is None, reply.error
    return [answer.standing for answer in reply.answers]


async def standing(repo: FakeIndexRepository, candidate: Claim) -> Standing:
    return repo.claims[candidate.candidate_id].standing


async def test_a_person_held_by_another_agency_is_refused_on_check_and_nothing_recorded(
    repo: FakeIndexRepository, keys: IndexKeys
) -> None:
    first, second = claim(keys, "kaltim"), claim(keys, "boyolali", minutes=5)
    assert await ask(repo, keys, "kaltim", "check", first) == [Standing.CLEARED]
    assert await ask(repo, keys, "boyolali", "check", second) == [Standing.HELD_ELSEWHERE]
    assert set(repo.claims) == {first.candidate_id}
    other = claim(keys, "boyolali", nik=OTHER_NIK)
    assert await ask(repo, keys, "boyolali", "check", other) == [Standing.CLEARED]


async def test_the_index_keeps_only_a_keyed_hash_of_the_nik(
    repo: FakeIndexRepository, keys: IndexKeys
) -> None:
    import hashlib

    first = claim(keys, "kaltim")
    await ask(repo, keys, "kaltim", "check", first)
    stored = repo.claims[first.candidate_id]
    assert stored.nik_hash == keys.national_hash(NIK)
    assert NIK not in repr(stored)
    assert stored.nik_hash != hashlib.sha256(NIK.encode()).hexdigest()
    assert IndexKeys.generate().national_hash(NIK) != stored.nik_hash


async def test_recorded_duplicates_suspend_the_later_whatever_order_they_arrive_in(
    repo: FakeIndexRepository, keys: IndexKeys
) -> None:
    earlier, later = claim(keys, "kaltim", minutes=0), claim(keys, "boyolali", minutes=3)
    assert await ask(repo, keys, "boyolali", "record", later) == [Standing.CLEARED]
    assert await ask(repo, keys, "kaltim", "record", earlier) == [Standing.DUPLICATE]
    assert await standing(repo, later) is Standing.SUSPENDED
    notices = {(agency, n.candidate_id, n.standing) for agency, n in repo.notices}
    assert ("boyolali", later.candidate_id, Standing.SUSPENDED) in notices
    assert ("kaltim", earlier.candidate_id, Standing.DUPLICATE) in notices


async def test_a_rebuilt_index_stands_as_before(keys: IndexKeys) -> None:
    claims = [
        claim(keys, "kaltim", minutes=0),
        claim(keys, "boyolali", minutes=1),
        claim(keys, "kota-serang", nik=OTHER_NIK, minutes=2),
    ]
    first, rebuilt = FakeIndexRepository(), FakeIndexRepository()
    for one in claims:
        await ask(first, keys, NATIONAL, "record", one)
    for one in reversed(claims):  # the agencies send again in another order
        await ask(rebuilt, keys, NATIONAL, "record", one)
    assert {i: c.standing for i, c in first.claims.items()} == {
        i: c.standing for i, c in rebuilt.claims.items()
    }


async def test_a_release_clears_the_duplicate_left(
    repo: FakeIndexRepository, keys: IndexKeys
) -> None:
    earlier, later = claim(keys, "kaltim"), claim(keys, "boyolali", minutes=1)
    await ask(repo, keys, "kaltim", "record", earlier)
    await ask(repo, keys, "boyolali", "record", later)
    reply = await handlers.release(
        "kaltim", ReleasesRequest(candidate_ids=[earlier.candidate_id]), repo, NOW, NATIONAL
    )
    assert reply.released == 1
    assert await standing(repo, later) is Standing.CLEARED
    again = claim(keys, "kota-serang", minutes=9)
    assert await ask(repo, keys, "kota-serang", "check", again) == [Standing.HELD_ELSEWHERE]


async def test_a_corrected_nik_clears_both(repo: FakeIndexRepository, keys: IndexKeys) -> None:
    earlier, later = claim(keys, "kaltim"), claim(keys, "boyolali", minutes=1)
    await ask(repo, keys, "kaltim", "record", earlier)
    await ask(repo, keys, "boyolali", "record", later)
    corrected = later.model_copy(update={"sealed_nik": seal_nik(OTHER_NIK, keys.public_key)})
    assert await ask(repo, keys, "boyolali", "check", corrected) == [Standing.CLEARED]
    assert await standing(repo, earlier) is Standing.CLEARED


async def test_an_agency_may_not_claim_or_release_for_another(
    repo: FakeIndexRepository, keys: IndexKeys
) -> None:
    theirs = claim(keys, "kaltim")
    with pytest.raises(handlers.NotYours):
        await ask(repo, keys, "boyolali", "check", theirs)
    await ask(repo, keys, "kaltim", "check", theirs)
    with pytest.raises(handlers.NotYours):
        await handlers.release(
            "boyolali", ReleasesRequest(candidate_ids=[theirs.candidate_id]), repo, NOW, NATIONAL
        )
    assert not repo.claims[theirs.candidate_id].released


async def test_a_box_sealed_to_another_key_is_refused(
    repo: FakeIndexRepository, keys: IndexKeys
) -> None:
    foreign = claim(IndexKeys.generate(), "kaltim")
    reply = await handlers.claim(
        "kaltim", ClaimsRequest(mode="check", claims=[foreign]), repo, keys, NOW, NATIONAL
    )
    assert reply.error is not None and "no key" in reply.error
    assert repo.claims == {}


async def test_each_agency_reads_its_own_notices_from_the_start_after_a_rebuild(
    repo: FakeIndexRepository, keys: IndexKeys
) -> None:
    await ask(repo, keys, "kaltim", "record", claim(keys, "kaltim"))
    await ask(repo, keys, "boyolali", "record", claim(keys, "boyolali", minutes=1))
    theirs = await handlers.read_notices(
        "boyolali", NoticesRequest(after=0, epoch=None), repo, NATIONAL
    )
    assert theirs.epoch == "epoch-1"
    assert [n.standing for n in theirs.notices] == [Standing.SUSPENDED]
    stale = await handlers.read_notices(
        "kaltim", NoticesRequest(after=99, epoch="an-older-epoch"), repo, NATIONAL
    )
    assert {n.standing for n in stale.notices} == {Standing.CLEARED, Standing.DUPLICATE}


async def test_a_claim_left_by_a_crashed_registration_gives_way_to_its_agency(
    repo: FakeIndexRepository, keys: IndexKeys
) -> None:
    """Kaltim's service stopped after the index recorded its claim and before it committed the
    registration: the person sent again to kaltim is registered, the claim left behind let go."""
    left = claim(keys, "kaltim", minutes=-1)
    assert await ask(repo, keys, "kaltim", "check", left) == [Standing.CLEARED]
    again = claim(keys, "kaltim")
    assert await ask(repo, keys, "kaltim", "check", again) == [Standing.CLEARED]
    assert repo.claims[left.candidate_id].released
    assert not repo.claims[again.candidate_id].released


async def test_the_agency_that_records_its_winner_again_is_held_as_before(
    repo: FakeIndexRepository, keys: IndexKeys
) -> None:
    """The same person sent to kaltim twice at once: the second claim takes the person from the
    first at once; the first then wins at kaltim's own commit, and kaltim's service records it
    again after releasing the loser. The index holds the winner, and the person stays kaltim's."""
    winner, loser = claim(keys, "kaltim", minutes=-1), claim(keys, "kaltim")
    assert await ask(repo, keys, "kaltim", "check", winner) == [Standing.CLEARED]
    assert await ask(repo, keys, "kaltim", "check", loser) == [Standing.CLEARED]
    assert repo.claims[winner.candidate_id].released
    await handlers.release(
        "kaltim", ReleasesRequest(candidate_ids=[loser.candidate_id]), repo, NOW, NATIONAL
    )
    assert await ask(repo, keys, "kaltim", "record", winner) == [Standing.CLEARED]
    assert not repo.claims[winner.candidate_id].released
    assert repo.claims[loser.candidate_id].released
    elsewhere = claim(keys, "boyolali")
    assert await ask(repo, keys, "boyolali", "check", elsewhere) == [Standing.HELD_ELSEWHERE]


async def test_another_agencys_claim_never_gives_way_however_old(
    repo: FakeIndexRepository, keys: IndexKeys
) -> None:
    held = claim(keys, "boyolali", minutes=-600)
    assert await ask(repo, keys, "boyolali", "check", held) == [Standing.CLEARED]
    here = claim(keys, "kaltim")
    assert await ask(repo, keys, "kaltim", "check", here) == [Standing.HELD_ELSEWHERE]
    assert not repo.claims[held.candidate_id].released


async def test_a_duplicate_of_a_claim_let_go_stands_cleared(
    repo: FakeIndexRepository, keys: IndexKeys
) -> None:
    """Kaltim's claim left behind made boyolali's registration a suspended duplicate: once it is
    let go, boyolali's stands cleared and is told so; the person stays boyolali's."""
    left, theirs = claim(keys, "kaltim", minutes=-10), claim(keys, "boyolali", minutes=-5)
    await ask(repo, keys, NATIONAL, "record", left, theirs)
    assert await standing(repo, theirs) == Standing.SUSPENDED
    again = claim(keys, "kaltim")
    assert await ask(repo, keys, "kaltim", "check", again) == [Standing.HELD_ELSEWHERE]
    assert repo.claims[left.candidate_id].released
    assert await standing(repo, theirs) == Standing.CLEARED
    agency, notice = repo.notices[-1]
    assert (agency, notice.candidate_id, notice.standing) == (
        "boyolali",
        theirs.candidate_id,
        Standing.CLEARED,
    )
