"""The dashboard's pure rules: arrears buckets and pauses, cohorts against the daily target, the
stage a drop-out left, dated targets, the months shown, scopes, the page's language."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from starlette.requests import Request

from jembatan_dashboard.domain.arrears import (
    Announced,
    ArrearsBucket,
    Paid,
    arrears_of_loan,
    paused_on,
)
from jembatan_dashboard.domain.cohorts import ScoredDay, cohorts_below_target
from jembatan_dashboard.domain.stages import (
    DropOutKind,
    Stage,
    furthest_stage,
    stage_before,
    stage_left_at,
)
from jembatan_dashboard.domain.targets import Target, Targets
from jembatan_dashboard.entrypoints.i18n import language, number
from jembatan_dashboard.service_layer.queries import Scope, last_twelve_months


def due(number: int, month: int, amount: int = 100) -> Announced:
    return Announced(number, date(2027, month, 1), amount)


@pytest.mark.parametrize(
    ("today", "bucket", "days"),
    [
        (date(2027, 2, 1), ArrearsBucket.CURRENT, 0),
        (date(2027, 2, 2), ArrearsBucket.DAYS_1_30, 1),
        (date(2027, 3, 4), ArrearsBucket.DAYS_31_60, 31),
        (date(2027, 4, 3), ArrearsBucket.DAYS_61_90, 61),
        (date(2027, 5, 3), ArrearsBucket.DAYS_OVER_90, 91),
    ],
)
def test_the_oldest_unpaid_instalment_sets_the_bucket(
    today: date, bucket: ArrearsBucket, days: int
) -> None:
    arrears = arrears_of_loan([due(1, 2)], [], [], today)
    assert (arrears.bucket, arrears.days_past_due) == (bucket, days)


def test_a_payment_clears_the_oldest_instalments_first() -> None:
    announced = [due(1, 2), due(2, 3)]
    partly = [Paid(150, (1, 2), date(2027, 3, 5))]
    arrears = arrears_of_loan(announced, partly, [], date(2027, 4, 10))
    assert (arrears.amount_idr, arrears.bucket) == (50, ArrearsBucket.DAYS_31_60)
    fully = [*partly, Paid(50, (2,), date(2027, 3, 6))]
    assert arrears_of_loan(announced, fully, [], date(2027, 4, 10)).amount_idr == 0


def test_an_announcement_after_a_payment_already_nets_it() -> None:
    # Paid 30 toward instalment 2 before it fell due; financing announced the 70 still owed.
    announced = [Announced(2, date(2027, 3, 1), 70)]
    early = [Paid(30, (2,), date(2027, 2, 10))]
    assert arrears_of_loan(announced, early, [], date(2027, 3, 20)).amount_idr == 70


DUE_DAY = date(2027, 3, 1)
AFTER = date(2027, 3, 20)


@pytest.mark.parametrize(
    ("announced_owing", "paid_on"),
    [
        (70, DUE_DAY),  # paid on the due day before the announcement: it names the 70 left
        (100, DUE_DAY),  # paid on the due day after the announcement of the whole 100
        (70, date(2027, 2, 10)),  # paid before the due day
        (100, date(2027, 3, 5)),  # paid after the due day
    ],
)
def test_a_scheduled_amount_and_allocations_give_what_is_owed_whatever_the_order(
    announced_owing: int, paid_on: date
) -> None:
    """Financing 1.1: the instalment of 100 less the 30 paid of it, however the payment and the
    announcement fell on the calendar and the clock."""
    announced = [Announced(2, DUE_DAY, announced_owing, scheduled_amount_idr=100)]
    paid = [Paid(30, (2,), paid_on, allocations=((2, 30),))]
    arrears = arrears_of_loan(announced, paid, [], AFTER)
    assert (arrears.amount_idr, arrears.days_past_due) == (70, 19)


def test_before_1_1_a_part_paid_on_the_due_day_before_the_announcement_counts_twice() -> None:
    """Without the scheduled amount and allocations, the dashboard cannot tell a payment on the
    due day before the announcement (which the announcement netted) from one after it: it
    counts as before, understating by the part paid."""
    announced = [Announced(2, DUE_DAY, 70)]
    assert arrears_of_loan(announced, [Paid(30, (2,), DUE_DAY)], [], AFTER).amount_idr == 40
    # Either figure missing keeps that behaviour for the instalment.
    scheduled_only = [Announced(2, DUE_DAY, 70, scheduled_amount_idr=100)]
    assert arrears_of_loan(scheduled_only, [Paid(30, (2,), DUE_DAY)], [], AFTER).amount_idr == 40
    allocated_only = [Paid(30, (2,), DUE_DAY, allocations=((2, 30),))]
    assert arrears_of_loan(announced, allocated_only, [], AFTER).amount_idr == 40


def test_allocations_say_what_a_payment_paid_of_each_instalment() -> None:
    announced = [
        Announced(1, date(2027, 2, 1), 100, scheduled_amount_idr=100),
        Announced(2, DUE_DAY, 60, scheduled_amount_idr=100),
        Announced(3, date(2027, 4, 1), 100),  # told by a 1.0 RepaymentDue
    ]
    paid = [
        Paid(140, (1, 2), DUE_DAY, allocations=((1, 100), (2, 40))),  # before the announcement
        Paid(25, (3,), date(2027, 4, 2), allocations=((3, 25),)),
    ]
    arrears = arrears_of_loan(announced, paid, [], date(2027, 4, 10))
    assert (arrears.amount_idr, arrears.days_past_due) == (60 + 75, 40)
    overpaid = [Paid(500, (1, 2), DUE_DAY, allocations=((1, 100), (2, 100)))]
    assert arrears_of_loan(announced[:2], overpaid, [], date(2027, 4, 10)).amount_idr == 0


def test_a_restructuring_supersedes_what_was_unpaid_and_an_early_return_pauses() -> None:
    announced = [due(1, 2), due(2, 3)]
    restructured = arrears_of_loan(announced, [], [date(2027, 4, 1)], date(2027, 6, 1))
    assert restructured.amount_idr == 0
    restarted = arrears_of_loan([*announced, due(3, 4)], [], [date(2027, 4, 1)], date(2027, 6, 1))
    assert (restarted.amount_idr, restarted.days_past_due) == (100, 61)
    paused = arrears_of_loan(announced, [], [], date(2027, 6, 1), paused_on=date(2027, 2, 11))
    assert (paused.amount_idr, paused.days_past_due) == (100, 10)


def test_cohorts_below_target_average_their_members_recent_scores() -> None:
    k1, k2 = uuid.uuid4(), uuid.uuid4()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def scored(cohort: uuid.UUID, who: uuid.UUID, day: int, score: int) -> ScoredDay:
        return ScoredDay(cohort, str(cohort)[:4], "BLK", who, date(2026, 5, day), score)

    rows = [
        scored(k1, a, 1, 20),  # outside the window of 2
        scored(k1, a, 2, 70),
        scored(k1, a, 3, 80),
        scored(k1, b, 1, 82),
        scored(k2, c, 1, 90),
    ]
    below = cohorts_below_target(rows, target=80, window=2)
    assert [(c.cohort_id, c.average, c.members, c.members_below) for c in below] == [
        (k1, 78.5, 2, 1)
    ]


def test_a_target_holds_from_its_year_until_replaced() -> None:
    targets = Targets([Target("kota-serang", 2026, 100), Target("kota-serang", 2028, 150)])
    assert targets.for_year("kota-serang", 2025) is None
    assert targets.for_year("kota-serang", 2027).departures == 100  # type: ignore[union-attr]
    assert targets.for_year("kota-serang", 2029).departures == 150  # type: ignore[union-attr]
    assert Targets.from_file().for_year("kemnaker", 2026).departures == 10_000  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="departures must be positive"):
        Targets([Target("kaltim", 2026, 0)])


def test_a_candidate_stands_at_the_furthest_stage_reached() -> None:
    reached = {Stage.REGISTERED: date(2026, 1, 1), Stage.CERTIFIED: date(2026, 3, 1)}
    assert furthest_stage(reached) == Stage.CERTIFIED
    assert stage_before(reached, date(2026, 2, 1)) == Stage.REGISTERED
    assert furthest_stage({Stage.DEPARTED: date(2026, 3, 1)}) is None  # registration not in yet


def test_an_early_return_pauses_a_loan_until_a_restructuring_from_then_on() -> None:
    returned = date(2027, 2, 11)
    assert paused_on(None, [date(2027, 4, 1)]) is None
    assert paused_on(returned, []) == returned
    assert paused_on(returned, [date(2026, 12, 1)]) == returned  # restructured before it
    assert paused_on(returned, [date(2026, 12, 1), returned]) is None


def test_a_drop_out_counts_at_the_stage_it_left() -> None:
    reached = {Stage.REGISTERED: date(2026, 1, 1), Stage.IN_TRAINING: date(2026, 2, 1)}
    withdrawn = DropOutKind.WITHDRAWN
    assert stage_left_at(withdrawn, reached, date(2026, 1, 20)) == Stage.REGISTERED
    assert stage_left_at(withdrawn, reached, date(2026, 3, 1)) == Stage.IN_TRAINING
    assert stage_left_at(withdrawn, {}, date(2026, 3, 1)) == Stage.REGISTERED
    assert stage_left_at(DropOutKind.INTERVIEW_FAILED, {}, date(2026, 3, 1)) == Stage.READY
    assert stage_left_at(DropOutKind.EARLY_RETURN, reached, date(2026, 3, 1)) == Stage.DEPARTED


def test_the_twelve_months_to_today_cross_the_turn_of_the_year() -> None:
    months = last_twelve_months(date(2027, 2, 14))
    assert (len(months), months[0], months[-1]) == (12, (2026, 3), (2027, 2))
    assert (2026, 12) in months and (2027, 1) in months


def test_a_scope_covers_its_agency_and_programme() -> None:
    assert Scope(None).covers("kaltim", None)
    assert Scope("kaltim").covers("kaltim", "SSW")
    assert not Scope("kaltim").covers("kota-serang", "SSW")
    assert Scope("kaltim", "SSW").covers("kaltim", "SSW")
    assert not Scope("kaltim", "SSW").covers("kaltim", "TITP")


def request(query: str = "", accept: str = "") -> Request:
    headers = [(b"accept-language", accept.encode())] if accept else []
    return Request({"type": "http", "query_string": query.encode(), "headers": headers})


def test_the_language_comes_from_the_query_then_the_browser() -> None:
    assert language(request("lang=id", "en-GB")) == "id"
    assert language(request("", "fr;q=0.9, id-ID;q=0.8, en;q=0.5")) == "id"
    assert language(request("", "ja")) == "en"
    assert (number(10_000, "en"), number(10_000, "id"), number(78.8, "id")) == (
        "10,000",
        "10.000",
        "78,8",
    )
