"""Financing acts only on journeys whose earlier events it holds: a departure opens no loan and
fixes no schedule unless its loan was opened on the placement's CandidatePlaced, and one that
names another agency's or journey's placement is refused as forged, through the real consumer."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from jembatan_contracts import DEAD_LETTER, DeadLetterHeader, Departed, RepaymentScheduleFixed
from jembatan_financing.adapters.orm import instalments, loans
from jembatan_kit.testing.journeys import departed, placed

Harness = Any  # the `harness` fixture of conftest.py: a FinancingHarness


async def _dead_letters(harness: Harness) -> dict[str, str]:
    """Reason of each dead letter so far, by the original message's id."""
    state = (await harness.js.stream_info(DEAD_LETTER.name)).state
    if not state.messages:
        return {}
    letters = [
        await harness.js.get_msg(DEAD_LETTER.name, seq)
        for seq in range(state.first_seq, state.last_seq + 1)
    ]
    return {
        (m.headers or {})[DeadLetterHeader.ORIGINAL_MSG_ID]: (m.headers or {})[
            DeadLetterHeader.REASON
        ]
        for m in letters
    }


async def test_a_departure_for_a_placement_financing_never_heard_of_opens_no_loan(
    harness: Harness,
) -> None:
    harness.overrides = {"consumer_max_deliver": 2}  # an ordering race is given one more try
    runtime = await harness.start()
    unheard = departed(placed(), date(2027, 1, 15))
    await harness.publish(unheard)

    async def dead_lettered() -> bool:
        return str(unheard.event_id) in await _dead_letters(harness)

    await harness.eventually(dead_lettered)
    assert (await _dead_letters(harness))[str(unheard.event_id)] == (
        f"gave up after 2 attempts: placement {unheard.placement_id} has no loan yet"
        " (CandidatePlaced first)"
    )
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(loans)) == 0
        assert await session.scalar(select(func.count()).select_from(instalments)) == 0
    assert await harness.financing_messages(RepaymentScheduleFixed) == []


async def test_a_departure_naming_another_agencys_placement_is_refused_as_forged(
    harness: Harness,
) -> None:
    runtime = await harness.start()
    placement = placed()  # Kalimantan Timur's
    await harness.publish(placement)
    # Kota Serang's departure (its own subject and payload agree) for Kalimantan Timur's loan.
    forged = departed(placement, date(2027, 1, 15), agency="kota-serang")
    await harness.publish(forged)

    async def dead_lettered() -> bool:
        return str(forged.event_id) in await _dead_letters(harness)

    await harness.eventually(dead_lettered)
    assert (await _dead_letters(harness))[str(forged.event_id)] == (
        f"journey_mismatch: Departed of placement {placement.placement_id} names agency"
        " kota-serang but its loan (opened on CandidatePlaced) has agency kaltim; a forged or"
        " broken event, not handled"
    )
    async with runtime.sessions() as session:
        loan = (await session.execute(select(loans))).one()
        assert await session.scalar(select(func.count()).select_from(instalments)) == 0
    assert (loan.status, loan.departure_date) == ("open", None)
    assert await harness.financing_messages(RepaymentScheduleFixed) == []

    # The placement's own departure is still handled: the forgery spoiled nothing.
    await harness.publish(departed(placement, date(2027, 1, 15)))

    async def fixed() -> bool:
        return len(await harness.financing_messages(RepaymentScheduleFixed)) == 1

    await harness.eventually(fixed)
    assert Departed.subject_for("kota-serang") == forged.subject
