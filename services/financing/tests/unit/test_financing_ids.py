"""A loan's ids are derived, not drawn, and are stored: the same placement gives the same loan,
schedule and event ids in every version, each its parent's first six bytes and a version 5
name-based id's rest (marked version 8)."""

from __future__ import annotations

import uuid

import pytest

from jembatan_financing.domain.model import _IDS, event_id_for, instalment_id_for, loan_id_for

PLACEMENT = uuid.UUID("0192f6a4-3b7c-7d21-8e4f-5a6b7c8d9e0f")


def test_the_ids_of_a_placements_loan_are_those_stored_since_they_were_introduced() -> None:
    loan = loan_id_for(PLACEMENT)

    assert loan == uuid.UUID("0192f6a4-3b7c-8ded-af23-6e0840c38798")
    assert instalment_id_for(loan, 1) == uuid.UUID("0192f6a4-3b7c-846d-9e52-ac2ea75f2551")
    assert instalment_id_for(loan, 60) == uuid.UUID("0192f6a4-3b7c-8e78-b052-43f4eba216fd")
    assert event_id_for("schedule-fixed", loan) == uuid.UUID("0192f6a4-3b7c-8b9b-b628-93559abd5639")


@pytest.mark.parametrize("number", range(1, 121))
def test_an_instalment_id_is_its_loans_prefix_and_a_name_based_ids_rest(number: int) -> None:
    loan = loan_id_for(uuid.uuid4())
    named = uuid.uuid5(_IDS, f"instalment/{loan}/{number}").bytes

    derived = instalment_id_for(loan, number)

    assert derived.bytes[:6] == loan.bytes[:6]
    assert derived.version == 8
    assert derived.variant == uuid.RFC_4122
    assert derived.bytes[6] & 0x0F == named[6] & 0x0F
    assert derived.bytes[7:] == named[7:]
