"""The read model's projections on a real (SQLite) database, without the bus: the figures a
scenario makes, whatever order its events arrive in, and applied twice."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_contracts import Event, PaymentRecorded, RepaymentDue
from jembatan_dashboard.bootstrap import MIGRATIONS
from jembatan_dashboard.domain.targets import Targets
from jembatan_dashboard.service_layer.projections import project
from jembatan_dashboard.service_layer.queries import Scope, ScoreRule, funnel
from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.migrations import upgrade_to_head
from jembatan_kit.testing.journeys import Journey

Scenario = Any  # the `kota_serang` and `funders` fixtures (../conftest.py)
Figures = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'dashboard.db'}"
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, url)
    engine = create_engine(url)
    yield create_session_factory(engine)
    await engine.dispose()


async def apply(sessions: async_sessionmaker[AsyncSession], events: list[Event]) -> None:
    """Each event alone, as a consumer handles a message it isolated."""
    async with sessions() as session, session.begin():
        for event in events:
            await project(session, [event])


@pytest.fixture
def figures(sessions: async_sessionmaker[AsyncSession], today: date) -> Figures:
    async def figures(agency: str | None = "kota-serang", **kw: Any) -> dict[str, Any]:
        """The figures `agency` (None: Kemnaker) sees on `today`, of 2026 unless `year` says."""
        async with sessions() as session:
            return await funnel(
                session,
                Scope(agency, kw.get("programme")),
                kw.get("year", 2026),
                today,
                Targets.from_file(),
                ScoreRule(80, 5),
            )

    return figures


async def test_the_scenario_makes_the_expected_figures(
    sessions: async_sessionmaker[AsyncSession], figures: Figures, kota_serang: Scenario
) -> None:
    await apply(sessions, kota_serang.events())
    found = await figures()
    assert kota_serang.seen_in(found) == kota_serang.expected
    assert found["target"] == {
        "agency": "kota-serang",
        "departures_target": 100,
        "source": "Disnaker Kota Serang: 100 departures this year (seed 004)",
        "departed": 3,
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_any_order_of_arrival_and_redelivery_give_the_same_figures(
    sessions: async_sessionmaker[AsyncSession], figures: Figures, kota_serang: Scenario, seed: int
) -> None:
    events = kota_serang.events()
    shuffled = random.Random(seed).sample(events, len(events))
    await apply(sessions, shuffled + list(reversed(events)))  # every event twice
    assert kota_serang.seen_in(await figures()) == kota_serang.expected


async def test_kemnaker_sees_every_agency_against_the_national_target(
    sessions: async_sessionmaker[AsyncSession], figures: Figures, kota_serang: Scenario
) -> None:
    await apply(sessions, kota_serang.events())
    national = await figures(agency=None)
    assert national["stages"][0] == {"stage": "registered", "reached": 6, "now_at": 0}
    assert national["target"]["agency"] == "kemnaker"
    assert national["target"]["departures_target"] == 10_000
    assert national["target"]["departed"] == 4
    assert [
        (r["agency"], r["programme"], r["reached"]["departed"]) for r in national["by_programme"]
    ] == [
        ("kaltim", "TITP", 1),
        ("kota-serang", "SSW", 1),
        ("kota-serang", "TITP", 2),
    ]
    kaltim = await figures(agency="kaltim")
    assert kaltim["target"]["departures_target"] is None
    assert [s["reached"] for s in kaltim["stages"]] == [1, 1, 1, 1, 1, 1, 0, 0]


async def test_a_programme_and_a_year_narrow_the_funnel(
    sessions: async_sessionmaker[AsyncSession], figures: Figures, kota_serang: Scenario
) -> None:
    await apply(sessions, kota_serang.events())
    ssw = await figures(programme="SSW")
    assert [s["reached"] for s in ssw["stages"]] == [1, 1, 1, 1, 1, 1, 1, 0]
    assert ssw["target"]["departed"] == 1
    last_year = await figures(year=2025)
    assert [s["reached"] for s in last_year["stages"]] == [1, 1, 1, 1, 1, 1, 0, 0]
    assert last_year["target"]["departed"] == 1


def arrears_of(found: dict[str, Any]) -> dict[str, tuple[int, int]]:
    buckets = found["arrears"]["buckets"]
    return {b["bucket"]: (b["loans"], b["amount_idr"]) for b in buckets if b["loans"]}


@pytest.mark.parametrize(
    "arrival", ["as_made", "announced_first", "reversed", "one_batch", "one_batch_reversed"]
)
async def test_a_part_paid_on_the_due_day_before_the_announcement_stays_owed(
    sessions: async_sessionmaker[AsyncSession],
    figures: Figures,
    part_paid_before_it_was_announced: Journey,
    arrival: str,
) -> None:
    """Rp400,000 of the Rp1,000,000 due paid on the due day before financing announced the
    Rp600,000 left: that Rp600,000 and the next instalment are in arrears, whatever order the
    payment and the announcements reach the dashboard in."""
    events = part_paid_before_it_was_announced.events
    loan_events = [e for e in events if isinstance(e, RepaymentDue | PaymentRecorded)]
    others = [e for e in events if e not in loan_events]
    if arrival == "announced_first":
        loan_events.sort(key=lambda e: isinstance(e, PaymentRecorded))
    elif arrival.endswith("reversed"):
        loan_events.reverse()
    if arrival.startswith("one_batch"):
        async with sessions() as session, session.begin():
            await project(session, others + loan_events)
    else:
        await apply(sessions, others + loan_events)
    found = await figures(agency="boyolali")
    assert arrears_of(found) == {"90+": (1, 1_600_000)}


async def test_the_funders_losses_and_the_loans_awaiting_a_decision_per_agency(
    sessions: async_sessionmaker[AsyncSession], figures: Figures, funders: Scenario
) -> None:
    events = funders.events()
    await apply(sessions, random.Random(5).sample(events, len(events)) + events)
    national = await figures(agency=None)
    assert funders.seen_in(national) == {
        key: value for key, value in funders.expected.items() if not key.startswith("boyolali")
    }

    boyolali = await figures(agency="boyolali")
    assert funders.seen_in(boyolali)["written_off"] == funders.expected["written_off"][:2]
    assert funders.seen_in(boyolali)["awaiting_decision"] == [("boyolali", 1, 11_000_000)]
    # The loan closed because its candidate never departed is no open loan any more.
    assert boyolali["arrears"]["open_loans"] == funders.expected["boyolali_open_loans"]
    assert arrears_of(boyolali) == funders.expected["boyolali_arrears"]

    kaltim_2025 = funders.seen_in(await figures(agency="kaltim", year=2025))
    assert kaltim_2025["written_off"] == [("kaltim", "never_departed", 1, 5_000_000)]
    assert kaltim_2025["awaiting_decision"] == []  # awaiting is now, whatever the year
    ssw = funders.seen_in(await figures(agency=None, programme="SSW"))
    assert ssw["written_off"] == [] and ssw["awaiting_decision_total"] == (0, 0)
