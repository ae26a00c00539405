"""The index's use cases, each once and over lists: the claims of a request, the releases of a
request, the notices an agency reads. Each runs in one transaction; the replica serves one
request at a time (`entrypoints.responder`), so two claims of one person are decided in turn."""

from __future__ import annotations

import uuid
from datetime import datetime

from jembatan_contracts.identity import (
    ClaimAnswer,
    ClaimsReply,
    ClaimsRequest,
    NoticesReply,
    NoticesRequest,
    ReleasesReply,
    ReleasesRequest,
    Standing,
)
from jembatan_kit.sealed_nik import IndexKeys, SealedNikUnreadable

from ..adapters.repository import IndexRepository
from ..domain.index import REASONS, IndexedClaim, gives_way, standings

NOTICES_PER_REPLY = 1000


class NotYours(ValueError):
    """A request about another agency's candidates."""


def _may_speak_for(asker: str, agency: str, national: str) -> None:
    """Each agency claims and releases its own candidates; the national agency (the hub's, in
    the embedded default also the one registration service) any agency's."""
    if asker not in (agency, national):
        raise NotYours(f"agency {asker} may not claim or release candidates of agency {agency}")


async def claim(
    asker: str,
    request: ClaimsRequest,
    repo: IndexRepository,
    keys: IndexKeys,
    now: datetime,
    national: str,
) -> ClaimsReply:
    """Hold each claim's person for its candidate, in order (see `ClaimsRequest`)."""
    hashes: list[str] = []
    for item in request.claims:
        _may_speak_for(asker, item.agency, national)
        try:
            hashes.append(keys.national_hash(keys.open(item.sealed_nik)))
        except SealedNikUnreadable as problem:
            return ClaimsReply(error=f"claim for candidate {item.candidate_id}: {problem}")
    groups = await repo.active_by_hash(set(hashes))
    known = await repo.by_candidate({item.candidate_id for item in request.claims})
    earlier = {c.nik_hash for c in known.values() if not c.released} - set(groups)
    groups |= await repo.active_by_hash(earlier)  # of NIKs being corrected
    by_id = {c.candidate_id: c for c in known.values()}
    by_id |= {c.candidate_id: c for group in groups.values() for c in group}
    before = {candidate_id: c.standing for candidate_id, c in by_id.items()}
    new: set[uuid.UUID] = set()
    claimed: set[uuid.UUID] = set()
    touched: set[str] = set()
    refused: set[int] = set()
    let_go: list[IndexedClaim] = []
    for position, (item, nik_hash) in enumerate(zip(request.claims, hashes, strict=True)):
        others = [c for c in groups.get(nik_hash, []) if c.candidate_id != item.candidate_id]
        left = [c for c in others if gives_way(c, item.agency)]
        if left:  # claims the agency's own registrations left behind give way
            for gone in left:
                gone.released = True
            let_go.extend(left)
            others = [c for c in others if c not in left]
            groups[nik_hash] = [c for c in groups[nik_hash] if c not in left]
            touched.add(nik_hash)
        if request.mode == "check" and others:
            refused.add(position)
            continue
        held = by_id.get(item.candidate_id)
        if held is None:
            held = by_id[item.candidate_id] = IndexedClaim(
                item.candidate_id, item.agency, nik_hash, item.registered_at, Standing.CLEARED
            )
            new.add(item.candidate_id)
        elif not held.released and held.nik_hash != nik_hash:
            # A corrected NIK: the person it named before may stand otherwise now.
            groups[held.nik_hash] = [c for c in groups.get(held.nik_hash, []) if c is not held]
            touched.add(held.nik_hash)
        held.nik_hash, held.released, held.registered_at = nik_hash, False, item.registered_at
        groups[nik_hash] = [*others, held]
        touched.add(nik_hash)
        claimed.add(item.candidate_id)
    for nik_hash in touched:
        group = groups.get(nik_hash, [])
        stand = standings(group)
        for held in group:
            held.standing = stand[held.candidate_id]
    written = claimed | {c.candidate_id for h in touched for c in groups.get(h, [])}
    in_order = [by_id[candidate_id] for candidate_id in sorted(written, key=str)]
    await repo.put([(c, False) for c in let_go if c.candidate_id not in written], now)
    await repo.put([(c, c.candidate_id in new) for c in in_order], now)
    told = [
        c for c in in_order if c.candidate_id in new or before.get(c.candidate_id) != c.standing
    ]
    await repo.notify([(c, REASONS[c.standing]) for c in told], now)
    return ClaimsReply(
        answers=[
            ClaimAnswer(
                candidate_id=item.candidate_id,
                standing=Standing.HELD_ELSEWHERE
                if position in refused
                else by_id[item.candidate_id].standing,
            )
            for position, item in enumerate(request.claims)
        ]
    )


async def release(
    asker: str, request: ReleasesRequest, repo: IndexRepository, now: datetime, national: str
) -> ReleasesReply:
    """Withdrawn candidates: their persons may be registered elsewhere, and a registration held
    or suspended as their duplicate may stand cleared now."""
    known = await repo.by_candidate(set(request.candidate_ids))
    released = [claim for claim in known.values() if not claim.released]
    for claim in released:
        _may_speak_for(asker, claim.agency, national)
    groups = await repo.active_by_hash({claim.nik_hash for claim in released})
    for claim in released:
        claim.released = True
        groups[claim.nik_hash] = [
            c for c in groups.get(claim.nik_hash, []) if c.candidate_id != claim.candidate_id
        ]
    await repo.put([(claim, False) for claim in released], now)
    restood: list[IndexedClaim] = []
    for group in groups.values():
        for claim in group:
            standing = standings(group)[claim.candidate_id]
            if standing != claim.standing:
                claim.standing = standing
                restood.append(claim)
    await repo.put([(claim, False) for claim in restood], now)
    await repo.notify([(claim, REASONS[claim.standing]) for claim in restood], now)
    return ReleasesReply(released=len(released))


async def read_notices(
    asker: str, request: NoticesRequest, repo: IndexRepository, national: str
) -> NoticesReply:
    """The notices of the asker's candidates after `request.after`; from the start when the
    asker last read another epoch (the index was rebuilt)."""
    epoch = await repo.epoch()
    after = request.after if request.epoch == epoch else 0
    agency = None if asker == national else asker
    return NoticesReply(
        epoch=epoch, notices=await repo.notices_after(agency, after, NOTICES_PER_REPLY)
    )
