"""The national identity index: one person, one active registration across every agency. Pure:
no I/O, no NIK (the index sees a NIK only to hash it under the national key).

A person's active registrations (claims with the same national hash) stand by one rule, which
depends on the set of them alone, not on the order the index heard of them in: so an index
rebuilt from the agencies' active registrations stands as it stood.

- one: it is cleared;
- more: the earliest registered (by the agency's registration time; the candidate id breaks a
  tie) is held as a duplicate, every later one is suspended. Neither may reach placement until
  all but one are withdrawn, or a mistyped NIK is corrected.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from jembatan_contracts.identity import Standing

REASONS = {
    Standing.CLEARED: "the national identity index holds no other active registration of "
    "this person",
    Standing.DUPLICATE: "the national identity index found a later active registration of this "
    "person with another agency; this earlier one is held (not ready for placement) until the "
    "later one is withdrawn there or its NIK corrected, or this one is withdrawn",
    Standing.SUSPENDED: "the national identity index found an earlier active registration of "
    "this person with another agency; this later registration is suspended: withdraw it, or "
    "correct its NIK if it was mistyped (the check runs again), or have the other withdrawn",
}


@dataclass
class IndexedClaim:
    """One registration the index holds: the national hash of its person's NIK, never the NIK."""

    candidate_id: uuid.UUID
    agency: str
    nik_hash: str
    registered_at: datetime
    standing: Standing
    released: bool = False


def gives_way(held: IndexedClaim, agency: str) -> bool:
    """Whether `held`, another active registration of a person `agency` now claims, gives way.

    It does when it is the same agency's. An agency's registration service asks the index only
    for a person it holds no active registration of: it checks its own first, and its database
    keeps one active registration of a person. So a claim of the same agency for another
    candidate is one its service left behind: killed after the index recorded the claim and
    before its own transaction committed, or beaten at that commit by the same person sent at
    the same moment (the service then records the winner again). Each agency's candidates are
    registered by one registration service (its own; in the embedded default, the one)."""
    return held.agency == agency


def standings(claims: Iterable[IndexedClaim]) -> dict[uuid.UUID, Standing]:
    """How each of one person's active registrations stands."""
    ordered = sorted(
        (claim for claim in claims if not claim.released),
        key=lambda claim: (claim.registered_at, str(claim.candidate_id)),
    )
    if len(ordered) == 1:
        return {ordered[0].candidate_id: Standing.CLEARED}
    return {
        claim.candidate_id: Standing.DUPLICATE if position == 0 else Standing.SUSPENDED
        for position, claim in enumerate(ordered)
    }
