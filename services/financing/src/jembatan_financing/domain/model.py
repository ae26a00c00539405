"""Financing rules ("dana talangan"): a third party fronts the upfront costs and the participant
repays them, by their own transfer, from the 3rd month after departure. Pure: no I/O, no clock.

All money is whole rupiah in `int`; never floats. The protective rules live in `guards.py`; the
dated figures (default costs, affordability share, exchange rate) in `data/terms.toml`.
"""

from __future__ import annotations

import calendar
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from jembatan_contracts import ArrearsBucket, CandidatePlaced, Track, bucket_for
from jembatan_kit.errors import RuleViolation

from .costs import CostItem as CostItem
from .costs import principal_of as principal_of
from .guards import (
    OWN_TRANSFER,
    ChargeRules,
    InstalmentCap,
    check_cost_items,
    instalment_cap,
    refuse_repayment_before_month_three,
    refuse_unaffordable_instalment,
)
from .terms import DatedTerms, shipped_terms

REPAYMENT_STARTS_MONTHS_AFTER_DEPARTURE = 3
"""The first instalment falls due this many calendar months after departure, never earlier."""

_IDS = uuid.UUID("6c1f4a8e-2d0b-5f43-9a57-1b8e0f3c7d21")
"""Namespace of the deterministic ids below: the same input always yields the same id, so a
repeated event or a second scheduler produces the same row and the same `Nats-Msg-Id`."""


class RepaymentChannel(StrEnum):
    OWN_TRANSFER = OWN_TRANSFER
    """The participant transfers each instalment themselves; never a deduction from the wage."""


class LoanStatus(StrEnum):
    OPEN = "open"
    """Costs may still change; the repayment schedule waits for the departure date."""
    REPAYING = "repaying"
    """The schedule is fixed."""
    NEEDS_DECISION = "needs_decision"
    """Departed, but no schedule within the contract meets the instalment cap: nothing falls
    due until an operator decides (a schedule, a subsidy, a write-off by the funder)."""
    PAUSED = "paused"
    """The participant returned early; nothing falls due until the loan is restructured."""
    SETTLED = "settled"
    """Nothing is owed any more."""
    CLOSED = "closed"
    """The candidate withdrew before departing: nothing more happens to the loan. What the
    terms still ask of them (nothing by default) is its balance; the rest the funder wrote
    off."""


@dataclass(frozen=True)
class Instalment:
    number: int
    due_date: date
    amount_idr: int


@dataclass(frozen=True)
class LoanTerms:
    """The configured terms. `default_costs`, when given, replaces the dated default costs."""

    default_costs: Mapping[Track, tuple[CostItem, ...]] = field(default_factory=dict)
    max_instalments: int = 12
    dated: DatedTerms = field(default_factory=shipped_terms)
    _charge_rules: dict[tuple[Track, str | None, date], ChargeRules] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """The rules of each (track, channel, day) asked so far: every loan of a day asks again."""

    def __post_init__(self) -> None:
        if self.max_instalments < 1:
            raise RuleViolation(
                "max_instalments", "the maximum number of instalments must be at least 1"
            )
        self._check_default_costs()

    def _check_default_costs(self) -> None:
        """The default costs obey the rules on every day the dated terms change, by every
        channel of their track: a loan opened with them is never refused."""
        for day in self.dated.change_dates():
            for track in Track:
                if self.dated.allowed_charges_on(track, day) is None:
                    continue  # nothing may be charged yet: no loan opens
                try:
                    items = self.costs_for(track, day)
                except RuleViolation:
                    continue  # none in force: a placement of this track would be refused
                for channel in self.dated.channels_of(track, day):
                    check_cost_items(
                        items,
                        self.charge_rules(track, channel, day),
                        f"default costs for {track} via {channel} on {day.isoformat()}",
                    )

    def charge_rules(self, track: Track, channel: str | None, on: date) -> ChargeRules:
        """The rules for the charges of a loan of `track` placed through `channel` on `on`. A
        loan opened before channels were recorded (`None`) is held to its track's lowest
        maximum principal."""
        key = (track, channel, on)
        rules = self._charge_rules.get(key)
        if rules is None:
            rules = self._charge_rules[key] = self._rules_on(track, channel, on)
        return rules

    def _rules_on(self, track: Track, channel: str | None, on: date) -> ChargeRules:
        dated = self.dated
        if channel is None:
            maxima = [
                (dated.principal_maximum_on(track, c, on), c) for c in dated.channels_of(track, on)
            ]
            principal_maximum, channel = min(maxima, key=lambda m: m[0].max_idr)
        else:
            principal_maximum = dated.principal_maximum_on(track, channel, on)
        return ChargeRules(
            track=track,
            allowed=dated.allowed_charges_on(track, on),
            employer_borne=dated.ssw_employer_borne_on(on),
            maxima=dated.charge_maxima_on(on),
            principal_maximum=principal_maximum,
            channel=channel,
        )

    def channel_of(self, placed: CandidatePlaced, on: date) -> str:
        return self.dated.channel_of(placed.track, placed.supervising_organisation, on)

    def costs_for(self, track: Track, on: date | None = None) -> tuple[CostItem, ...]:
        if self.default_costs:
            items = self.default_costs.get(track)
        else:
            dated = self.dated.costs_on(track, on or date.max)
            items = dated.items if dated else None
        if items is None:
            raise RuleViolation(
                "no_default_costs",
                f"no default cost items are configured for track {track}",
                {"track": str(track)},
            )
        return items

    def cap_for(self, wage_jpy: int, on: date) -> InstalmentCap:
        return instalment_cap(
            wage_jpy, self.dated.affordability_on(on), self.dated.exchange_rate_on(on)
        )


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, or the month's last day if it is shorter
    (Nov 30 + 3 months = Feb 28, or Feb 29 in a leap year)."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


def first_due_date(departure_date: date) -> date:
    return add_months(departure_date, REPAYMENT_STARTS_MONTHS_AFTER_DEPARTURE)


def largest_instalment(principal_idr: int, count: int) -> int:
    return principal_idr - (principal_idr // count) * (count - 1)


def instalment_count(
    contract_months: int,
    max_instalments: int,
    principal_idr: int,
    cap: InstalmentCap | None = None,
) -> int:
    """Months 3 to the contract's last month (`contract_months - 2` instalments), so the loan is
    repaid within the contract, capped at `max_instalments`; at least one. Never more instalments
    than rupiah, so every instalment is at least Rp1.

    If an instalment would exceed the affordability cap, more instalments are taken, beyond
    `max_instalments` if need be but never beyond the contract; if even that is not enough the
    schedule is refused."""
    within_contract = max(1, contract_months - 2)
    count = max(1, min(within_contract, max_instalments, principal_idr))
    if cap is None:
        return count
    count = max(count, min(within_contract, -(-principal_idr // max(cap.amount_idr, 1))))
    while count < within_contract and largest_instalment(principal_idr, count) > cap.amount_idr:
        count += 1
    refuse_unaffordable_instalment(largest_instalment(principal_idr, count), cap)
    return count


def split_principal(principal_idr: int, count: int) -> list[int]:
    """`count` equal instalments; the last absorbs the remainder, so they sum to the principal."""
    if count < 1:
        raise ValueError("a schedule has at least one instalment")
    base = principal_idr // count
    return [base] * (count - 1) + [principal_idr - base * (count - 1)]


def _nothing_to_repay(principal_idr: int) -> None:
    if principal_idr <= 0:
        raise RuleViolation("nothing_to_repay", "a repayment schedule needs a positive principal")


def repayment_schedule(
    principal_idr: int,
    departure_date: date,
    contract_months: int,
    max_instalments: int,
    cap: InstalmentCap | None = None,
) -> tuple[Instalment, ...]:
    _nothing_to_repay(principal_idr)
    count = instalment_count(contract_months, max_instalments, principal_idr, cap)
    # Each due date counts from departure, not from the previous one, so a short month does
    # not pull every later instalment back (Nov 30 -> Feb 28, Mar 30, Apr 30).
    return tuple(
        Instalment(
            number=index + 1,
            due_date=add_months(departure_date, REPAYMENT_STARTS_MONTHS_AFTER_DEPARTURE + index),
            amount_idr=amount,
        )
        for index, amount in enumerate(split_principal(principal_idr, count))
    )


def due_dates_until(first_due: date, last_day: date) -> int:
    """How many monthly due dates, from `first_due` on, fall on or before `last_day`."""
    months = (last_day.year - first_due.year) * 12 + last_day.month - first_due.month
    if months >= 0 and add_months(first_due, months) > last_day:
        months -= 1
    return max(months + 1, 0)


def contract_end(departure_date: date, contract_months: int) -> date:
    return add_months(departure_date, contract_months)


def smallest_reduction(owed_idr: int, count: int, cap_idr: int) -> int:
    """The least a subsidy or write-off must take off `owed_idr` for a schedule of `count`
    instalments (`split_principal`) to keep each within `cap_idr`."""
    if count < 1:
        return owed_idr
    if owed_idr > cap_idr * count:
        return owed_idr - cap_idr * count
    return max(largest_instalment(owed_idr, count) - cap_idr, 0)


@dataclass(frozen=True)
class ScheduleDecision:
    """Where a departed participant's loan stands when no schedule meets the rules: the longest
    schedule within the contract that can still start (from `first_due_date`, `instalments`
    monthly), its largest instalment, and what must be taken off for it to fit the cap."""

    owed_idr: int
    cap: InstalmentCap
    first_due_date: date
    instalments: int
    contract_end: date

    @property
    def smallest_instalment_idr(self) -> int:
        if self.instalments < 1:
            return self.owed_idr
        return largest_instalment(self.owed_idr, self.instalments)

    @property
    def shortfall_idr(self) -> int:
        return smallest_reduction(self.owed_idr, self.instalments, self.cap.amount_idr)


def schedule_decision(
    owed_idr: int, departure_date: date, contract_months: int, cap: InstalmentCap, today: date
) -> ScheduleDecision:
    """The longest schedule within the contract that can start today or later, and how far it is
    from meeting the cap."""
    first = max(first_due_date(departure_date), today)
    end = contract_end(departure_date, contract_months)
    return ScheduleDecision(owed_idr, cap, first, due_dates_until(first, end), end)


def restructured_schedule(
    balance_idr: int,
    departure_date: date,
    first_due: date,
    count: int,
    first_number: int,
    cap: InstalmentCap | None,
) -> tuple[Instalment, ...]:
    """The remaining balance in `count` monthly instalments from `first_due`, numbered on from
    the superseded schedule."""
    _nothing_to_repay(balance_idr)
    if count < 1 or count > balance_idr:
        raise RuleViolation(
            "instalment_count",
            f"choose between 1 and {min(balance_idr, 120)} instalments, not {count}",
        )
    refuse_repayment_before_month_three(first_due, first_due_date(departure_date))
    amounts = split_principal(balance_idr, count)
    if cap is not None:
        refuse_unaffordable_instalment(max(amounts), cap)
    return tuple(
        Instalment(number=first_number + index, due_date=add_months(first_due, index), amount_idr=a)
        for index, a in enumerate(amounts)
    )


# --- the account: payments, arrears --------------------------------------------------------


@dataclass(frozen=True)
class InstalmentState:
    number: int
    due_date: date
    amount_idr: int
    paid_idr: int

    @property
    def outstanding_idr(self) -> int:
        return max(self.amount_idr - self.paid_idr, 0)


def allocate_payment(
    schedule: Sequence[InstalmentState], amount_idr: int
) -> tuple[list[tuple[int, int]], int]:
    """Apply a payment to the oldest unpaid instalments first. An over-payment becomes credit
    toward the next instalments; what is left after the last one is refunded at settlement.
    Returns (instalment number, amount applied) pairs and the amount left over."""
    left = amount_idr
    applied: list[tuple[int, int]] = []
    for instalment in sorted(schedule, key=lambda i: i.number):
        if left == 0:
            break
        take = min(instalment.outstanding_idr, left)
        if take:
            applied.append((instalment.number, take))
            left -= take
    return applied, left


@dataclass(frozen=True)
class Arrears:
    amount_idr: int
    days_past_due: int
    bucket: ArrearsBucket


def arrears_as_of(schedule: Sequence[InstalmentState], day: date) -> Arrears:
    """What is unpaid after its due date, and how long the oldest of it has been unpaid."""
    overdue = [i for i in schedule if i.due_date < day and i.outstanding_idr > 0]
    if not overdue:
        return Arrears(0, 0, ArrearsBucket.CURRENT)
    days = (day - min(i.due_date for i in overdue)).days
    return Arrears(sum(i.outstanding_idr for i in overdue), days, bucket_for(days))


# --- ids ------------------------------------------------------------------------------------


def _beside(parent: uuid.UUID, name: str) -> uuid.UUID:
    """The id of `name`, which belongs to `parent`: the same name, the same id, and its first six
    bytes are the parent's (the rest a version 5 name-based id's, `uuid.uuid5(_IDS, name)`;
    marked version 8). Placements' ids are time-ordered, so loans sort as they were opened, and
    a loan's schedule and events sit beside it in their indexes: one page written for a
    schedule of 60, not one each. The name's hash is taken as `uuid5` takes it, without
    building that id first: a schedule asks for dozens of these at once."""
    named = hashlib.sha1(_IDS.bytes + name.encode()).digest()
    marked = bytes([0x80 | named[6] & 0x0F, named[7], 0x80 | named[8] & 0x3F])  # version, variant
    return uuid.UUID(bytes=parent.bytes[:6] + marked + named[9:16])


def loan_id_for(placement_id: uuid.UUID) -> uuid.UUID:
    """One placement, one loan."""
    return _beside(placement_id, f"loan/{placement_id}")


def funder_id_for(name: str) -> uuid.UUID:
    return uuid.uuid5(_IDS, f"funder/{name.strip().casefold()}")


def instalment_id_for(loan_id: uuid.UUID, number: int) -> uuid.UUID:
    return _beside(loan_id, f"instalment/{loan_id}/{number}")


def payment_id_for(loan_id: uuid.UUID, reference: str) -> uuid.UUID:
    """One transfer reference, one payment: a repeated report of it is the same payment."""
    return uuid.uuid5(_IDS, f"payment/{loan_id}/{reference}")


def event_id_for(what: str, entity_id: uuid.UUID) -> uuid.UUID:
    """The id of the one event announcing `what` about an entity (also its `Nats-Msg-Id`)."""
    return _beside(entity_id, f"{what}/{entity_id}")
