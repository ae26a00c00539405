"""One person, one active registration across every agency, on the federated topology: each
province's registration (its own database, its own NIK keys) on its leaf server, Kemnaker's
national identity index on the hub, asked by request-reply across the leaf links.

- link up, the same NIK at a second province is refused as it would be at the first;
- link down (the hub stopped: every leaf cut off), both are accepted as provisional, the
  duplicate is found within seconds of the link's return, the later is suspended, and neither
  is declared ready for placement until one is withdrawn;
- a person withdrawn at one agency can be registered at another;
- 1,000 registrations across three provinces with 50 planted duplicates, some during an outage:
  exactly those 50 are caught;
- no plaintext or unkeyed hash of any NIK used is in any stream, log, span or hub database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import nats.errors
import nats.js.errors
import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import create_async_engine

from jembatan_kit.testing.databases import create_database, drop_database
from jembatan_kit.testing.helpers import eventually

from .agency_services import AgencyServices
from .conftest import start_federation, topology

HUB = topology.HUB_AGENCY
PROVINCES = ("kaltim", "boyolali", "kota-serang")
SPLIT = [
    (HUB, "identity"),
    (HUB, "placement"),
    *((province, "registration") for province in PROVINCES),
    ("kaltim", "training"),
    ("boyolali", "training"),
]
HUB_DATABASES = ("identity", "placement")

USED_NIKS: set[str] = set()
"""Every NIK these tests register, for the scan at the end."""


def nik(serial: int) -> str:
    """A man born 15 June 2004 in Samarinda: every rule of a TITP registration passes."""
    value = f"647105150604{serial:04d}"
    USED_NIKS.add(value)
    return value


def person(serial: int, agency: str) -> dict[str, Any]:
    return {
        "agency": agency,
        "nik": nik(serial),
        "full_name": f"Peserta {serial}",
        "birth_date": "2004-06-15",
        "sex": "M",
        "education": "SMK",
        "track": "TITP",
        "preferred_sector": "automotive",
    }


@pytest.fixture(scope="module")
def agencies(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin: str
) -> Iterator[AgencyServices]:
    root = tmp_path_factory.mktemp("identity-index")
    databases = {key: asyncio.run(create_database(postgres_admin)) for key in SPLIT}
    federation = start_federation(root, PROVINCES)
    services = AgencyServices(federation, root, databases)
    try:
        asyncio.run(federation.create_hub_streams())
        for agency, service in SPLIT:
            services.start(agency, service)
        yield services
    finally:
        services.stop()
        federation.stop()
        for url in databases.values():
            asyncio.run(drop_database(postgres_admin, url))


def registration(agencies: AgencyServices, province: str, as_agency: str | None = None) -> Any:
    return agencies[province, "registration"].client(as_agency)


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


async def national_check(agencies: AgencyServices, province: str, candidate: str) -> str:
    async with registration(agencies, province) as client:
        view = await ok(await client.get(f"/candidates/{candidate}"))
    return str(view["national_check"])


async def index_reachable(agencies: AgencyServices, province: str) -> bool:
    """Whether the province's requests reach the index again (its leaf link is back)."""
    client = await agencies.federation.connect(province, "registration")
    try:
        await client.nc.request(f"identity.{province}.notices.v1", b"{}", timeout=1)
        return True
    except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
        return False
    finally:
        await client.nc.close()


async def cut_every_leaf(agencies: AgencyServices) -> None:
    """The hub stopped: every province is cut off, as in an outage of Kemnaker's site."""
    agencies.federation.stop_hub()


async def restore_the_links(agencies: AgencyServices) -> None:
    agencies.federation.start_hub()
    for province in PROVINCES:
        await eventually(lambda p=province: index_reachable(agencies, p), timeout_s=30)


async def test_the_same_nik_at_a_second_province_is_refused_while_the_link_is_up(
    agencies: AgencyServices,
) -> None:
    async with registration(agencies, "kaltim") as kaltim:
        first = await ok(await kaltim.post("/candidates", json=person(1, "kaltim")), 201)
    assert first["national_check"] == "cleared"
    async with registration(agencies, "boyolali") as boyolali:
        refused = await boyolali.post("/candidates", json=person(1, "boyolali"))
        assert refused.status_code == 409, refused.text
        answer = refused.json()
        assert answer["error"] == "one_active_registration"
        assert "another agency" in answer["message"]
        assert "kaltim" not in refused.text and first["candidate_id"] not in refused.text
        # Another person is registered there as ever.
        other = await ok(await boyolali.post("/candidates", json=person(2, "boyolali")), 201)
        assert other["national_check"] == "cleared"


async def results_make_ready(agencies: AgencyServices, province: str, candidate: str) -> None:
    async with agencies[province, "training"].client() as training:

        async def enrolled() -> bool:
            return (await training.get(f"/candidates/{candidate}")).status_code == 200

        await eventually(enrolled, timeout_s=30)
        result = {"test": "JLPT", "level": "N4", "issuer": "Japan Foundation"}
        await ok(
            await training.post(
                f"/candidates/{candidate}/results", json=result | {"taken_on": str(date.today())}
            ),
            201,
        )


async def at_placement(agencies: AgencyServices, candidate: str) -> bool:
    """Whether placement may put the candidate on a path: announced ready, and not held by the
    national identity index."""
    async with agencies[HUB, "placement"].client() as placement:
        response = await placement.get(f"/ready-candidates/{candidate}")
        return response.status_code == 200 and response.json()["identity_hold"] is None


async def placement_has_heard(
    agencies: AgencyServices, registered: list[tuple[str, str]], event: str
) -> bool:
    """Whether the hub holds registration's latest `event` of each agency, naming each of the
    candidates, and placement has handled everything the hub's streams hold. (After an outage
    the hub's sourcing resumes after a backoff of its own.)"""
    client = await agencies.federation.connect(HUB, "ops")
    try:
        js = client.nc.jetstream()
        for agency, candidate_id in registered:
            subject = f"jembatan.{agency}.registration.candidate.{event}.v1"
            try:
                last = await js.get_last_msg("REGISTRATION", subject)
            except nats.js.errors.NotFoundError:
                return False
            if candidate_id not in (last.data or b"").decode():
                return False
        for stream in ("REGISTRATION", "TRAINING"):
            for info in await js.consumers_info(stream):
                durable = info.config.durable_name or ""
                if durable.startswith("placement-") and (info.num_pending or info.num_ack_pending):
                    return False
        return True
    finally:
        await client.nc.close()


async def training_view(agencies: AgencyServices, province: str, candidate: str) -> Any:
    async with agencies[province, "training"].client() as training:
        return await ok(await training.get(f"/candidates/{candidate}"))


async def test_a_duplicate_made_while_cut_off_is_found_when_the_link_returns(
    agencies: AgencyServices,
) -> None:
    await cut_every_leaf(agencies)
    try:
        async with registration(agencies, "kaltim") as kaltim:
            earlier = await ok(await kaltim.post("/candidates", json=person(10, "kaltim")), 201)
        async with registration(agencies, "boyolali") as boyolali:
            later = await ok(await boyolali.post("/candidates", json=person(10, "boyolali")), 201)
        assert earlier["national_check"] == later["national_check"] == "provisional"
        # Both may train; neither is declared ready while provisional.
        await results_make_ready(agencies, "kaltim", earlier["candidate_id"])
        await results_make_ready(agencies, "boyolali", later["candidate_id"])
        for province, candidate in (("kaltim", earlier), ("boyolali", later)):
            view = await training_view(agencies, province, candidate["candidate_id"])
            assert view["ready"] is False and view["national_hold"] == "provisional"
    finally:
        await restore_the_links(agencies)

    async def found() -> bool:
        return (
            await national_check(agencies, "kaltim", earlier["candidate_id"]) == "duplicate"
            and await national_check(agencies, "boyolali", later["candidate_id"]) == "suspended"
        )

    await eventually(found, timeout_s=10)
    for province, candidate, hold in (
        ("kaltim", earlier, "duplicate"),
        ("boyolali", later, "suspended"),
    ):

        async def held(p: str = province, c: Any = candidate, h: str = hold) -> bool:
            return (await training_view(agencies, p, c["candidate_id"]))["national_hold"] == h

        await eventually(held, timeout_s=10)
    await eventually(
        lambda: placement_has_heard(
            agencies,
            [("kaltim", earlier["candidate_id"]), ("boyolali", later["candidate_id"])],
            "duplicate-found",
        ),
        timeout_s=120,
    )
    assert not await at_placement(agencies, earlier["candidate_id"])
    assert not await at_placement(agencies, later["candidate_id"])

    # A way out: the later one is withdrawn; the earlier clears and is declared ready.
    async with registration(agencies, "boyolali") as boyolali:
        await ok(
            await boyolali.post(
                f"/candidates/{later['candidate_id']}/withdrawal", json={"reason": "personal"}
            )
        )

    async def cleared() -> bool:
        return await national_check(agencies, "kaltim", earlier["candidate_id"]) == "cleared"

    await eventually(cleared, timeout_s=10)
    try:
        await eventually(lambda: at_placement(agencies, earlier["candidate_id"]), timeout_s=60)
    except AssertionError:
        async with agencies[HUB, "placement"].client() as placement:
            seen = await placement.get(f"/ready-candidates/{earlier['candidate_id']}")
        state = await training_view(agencies, "kaltim", earlier["candidate_id"])
        raise AssertionError(f"not at placement: {seen.text}; training: {state}") from None


async def test_a_mistyped_nik_corrected_clears_the_suspension(agencies: AgencyServices) -> None:
    await cut_every_leaf(agencies)
    try:
        async with registration(agencies, "kaltim") as kaltim:
            earlier = await ok(await kaltim.post("/candidates", json=person(20, "kaltim")), 201)
        async with registration(agencies, "kota-serang") as serang:
            later = await ok(await serang.post("/candidates", json=person(20, "kota-serang")), 201)
    finally:
        await restore_the_links(agencies)

    async def suspended() -> bool:
        return await national_check(agencies, "kota-serang", later["candidate_id"]) == "suspended"

    await eventually(suspended, timeout_s=10)
    async with registration(agencies, "kota-serang") as serang:
        await ok(await serang.patch(f"/candidates/{later['candidate_id']}", json={"nik": nik(21)}))
    assert await national_check(agencies, "kota-serang", later["candidate_id"]) == "cleared"

    async def both_cleared() -> bool:
        return await national_check(agencies, "kaltim", earlier["candidate_id"]) == "cleared"

    await eventually(both_cleared, timeout_s=10)


async def test_a_person_withdrawn_at_one_agency_can_register_at_another(
    agencies: AgencyServices,
) -> None:
    async with registration(agencies, "kaltim") as kaltim:
        first = await ok(await kaltim.post("/candidates", json=person(30, "kaltim")), 201)
        await ok(
            await kaltim.post(
                f"/candidates/{first['candidate_id']}/withdrawal", json={"reason": "other_work"}
            )
        )
    async with registration(agencies, "kota-serang") as serang:

        async def registered() -> bool:
            response = await serang.post("/candidates", json=person(30, "kota-serang"))
            return response.status_code == 201

        await eventually(registered, timeout_s=10, interval_s=0.5)


def csv_of(rows: list[dict[str, Any]]) -> bytes:
    columns = ["nik", "full_name", "birth_date", "sex", "education", "track", "preferred_sector"]
    lines = [",".join(columns)] + [",".join(str(row[c]) for c in columns) for row in rows]
    return ("\n".join(lines) + "\n").encode()


async def upload(agencies: AgencyServices, province: str, rows: list[dict[str, Any]]) -> Any:
    # Kemnaker's officer uploads: a province's own clerks would be paused after ten refusals
    # for NIKs registered elsewhere in a day, which is the point of that rule, not of this test.
    async with registration(agencies, province, as_agency=HUB) as client:
        client.timeout = httpx.Timeout(60)
        return await ok(
            await client.post(
                "/candidates/bulk",
                params={"agency": province},
                content=csv_of(rows),
                headers={"content-type": "text/csv"},
            )
        )


async def test_a_thousand_registrations_with_fifty_planted_duplicates(
    agencies: AgencyServices,
) -> None:
    """950 people, each registered once at one of three provinces, and 50 of them registered a
    second time at another province: 20 while the links are up (refused), 30 while they are
    down (both provisional, then one suspended). Exactly those 50 are caught."""
    people = list(range(1000, 1950))
    home = {serial: PROVINCES[serial % 3] for serial in people}
    planted_up = people[:20]
    planted_down = people[20:50]
    elsewhere = {serial: PROVINCES[(serial + 1) % 3] for serial in planted_up + planted_down}
    first_half, second_half = people[:475], people[475:]

    def rows(serials: list[int], where: dict[int, str], province: str) -> list[dict[str, Any]]:
        return [person(s, province) for s in serials if where[s] == province]

    refused: list[dict[str, Any]] = []
    accepted: dict[str, list[dict[str, Any]]] = {p: [] for p in PROVINCES}
    for province in PROVINCES:  # link up: the first half, then 20 duplicates (refused)
        answer = await upload(agencies, province, rows(first_half, home, province))
        accepted[province] += [r for r in answer["rows"] if r["status"] == "accepted"]
        refused += [r for r in answer["rows"] if r["status"] == "refused"]
    for province in PROVINCES:
        answer = await upload(agencies, province, rows(planted_up, elsewhere, province))
        accepted[province] += [r for r in answer["rows"] if r["status"] == "accepted"]
        refused += [r for r in answer["rows"] if r["status"] == "refused"]
    assert len(refused) == 20, refused
    assert {e["rule"] for r in refused for e in r["errors"]} == {"one_active_registration"}

    planted_later: set[str] = set()
    await cut_every_leaf(agencies)
    try:  # link down: the second half, and 30 duplicates of people registered before
        for province in PROVINCES:
            duplicates = rows(planted_down, elsewhere, province)
            answer = await upload(
                agencies, province, rows(second_half, home, province) + duplicates
            )
            assert answer["refused"] == 0, answer
            assert {r["national_check"] for r in answer["rows"]} == {"provisional"}
            accepted[province] += answer["rows"]
            if duplicates:
                planted_later |= {r["candidate_id"] for r in answer["rows"][-len(duplicates) :]}
    finally:
        await restore_the_links(agencies)
    ids = {row["candidate_id"] for rows in accepted.values() for row in rows}
    assert len(ids) == 950 + 30 and len(planted_later) == 30

    async def standings() -> dict[str, set[str]]:
        by_check: dict[str, set[str]] = {}
        for province in PROVINCES:
            async with registration(agencies, province, as_agency=HUB) as client:
                for offset in range(0, 2000, 500):
                    page = await ok(
                        await client.get(
                            "/candidates",
                            params={"agency": province, "limit": 500, "offset": offset},
                        )
                    )
                    for view in page:
                        if view["candidate_id"] in ids:
                            by_check.setdefault(view["national_check"], set()).add(
                                view["candidate_id"]
                            )
        return by_check

    async def settled() -> bool:
        return not (await standings()).get("provisional")

    await eventually(settled, timeout_s=60, interval_s=1)
    by_check = await standings()
    counts = {check: len(found) for check, found in by_check.items()}
    assert counts == {"cleared": 950 - 30, "duplicate": 30, "suspended": 30}, counts
    assert by_check["suspended"] == planted_later


async def index_counts(agencies: AgencyServices) -> dict[str, int]:
    async with agencies[HUB, "identity"].client() as index:
        counts: dict[str, int] = (await ok(await index.get("/index")))["active"]
    return counts


async def test_the_index_rebuilt_from_the_registrations_stands_as_before(
    agencies: AgencyServices, postgres_admin: str
) -> None:
    """The hub's index database lost: a new, empty one; each registration service, asked by
    Kemnaker, sends its active candidates again; the index stands as it stood, and no
    candidate's standing changes."""
    before = await index_counts(agencies)
    assert before.get("suspended", 0) >= 30, before
    standings_before = await every_national_check(agencies)

    agencies[HUB, "identity"].process.terminate()
    agencies[HUB, "identity"].process.wait(timeout=15)
    lost = agencies.database_urls[(HUB, "identity")]
    agencies.database_urls[(HUB, "identity")] = await create_database(postgres_admin)
    await drop_database(postgres_admin, lost)
    agencies.start(HUB, "identity")
    assert await index_counts(agencies) == {}

    for province in PROVINCES:
        async with registration(agencies, province, as_agency=HUB) as client:
            resent = await ok(await client.post("/identity-index/resend"))
            assert resent["due"] > 0
        async with registration(agencies, province) as client:
            refused = await client.post("/identity-index/resend")
            assert refused.status_code == 403, "only Kemnaker rebuilds the index"

    async def rebuilt() -> bool:
        return await index_counts(agencies) == before

    await eventually(rebuilt, timeout_s=60, interval_s=1)
    await asyncio.sleep(2)  # the notices of the new epoch are read, and change nothing
    assert await every_national_check(agencies) == standings_before


async def every_national_check(agencies: AgencyServices) -> dict[str, str]:
    found: dict[str, str] = {}
    for province in PROVINCES:
        async with registration(agencies, province, as_agency=HUB) as client:
            for offset in range(0, 2000, 500):
                page = await ok(
                    await client.get(
                        "/candidates", params={"agency": province, "limit": 500, "offset": offset}
                    )
                )
                found |= {view["candidate_id"]: view["national_check"] for view in page}
    return found


def unkeyed_forms(value: str) -> set[str]:
    data = value.encode()
    return {
        value,
        hashlib.sha256(data).hexdigest(),
        hashlib.sha1(data).hexdigest(),
        hashlib.md5(data).hexdigest(),
        hashlib.sha512(data).hexdigest(),
    }


async def stream_contents(agencies: AgencyServices) -> list[str]:
    texts: list[str] = []
    for agency in (HUB, *PROVINCES):
        client = await agencies.federation.connect(agency, "ops")
        try:
            js = client.nc.jetstream()
            for info in await js.streams_info():
                state = info.state
                for sequence in range(state.first_seq, state.last_seq + 1):
                    try:
                        message = await js.get_msg(info.config.name or "", sequence)
                    except Exception:
                        continue  # deleted
                    texts.append(f"{message.subject} {message.headers} ")
                    texts.append((message.data or b"").decode(errors="replace"))
        finally:
            await client.nc.close()
    return texts


async def database_contents(url: str) -> list[str]:
    engine = create_async_engine(url)
    texts: list[str] = []
    try:
        async with engine.connect() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect)
            for table in metadata.sorted_tables:
                for row in await connection.execute(select(table)):
                    texts.append(json.dumps([str(value) for value in row]))
    finally:
        await engine.dispose()
    return texts


def files_under(root: Path) -> list[str]:
    """Every log and span file of the servers and services (rotated ones too)."""
    return [
        path.read_text(errors="replace")
        for path in sorted(root.rglob("*"))
        if path.is_file() and (path.suffix == ".log" or ".jsonl" in path.name)
    ]


async def test_no_nik_in_any_stream_log_span_or_hub_database(agencies: AgencyServices) -> None:
    """Last in this module: every NIK the tests above registered, plain or hashed without a key,
    is looked for in every stream of every server, every log and span file the services and
    servers wrote, and the hub's databases (the index's and placement's)."""
    assert len(USED_NIKS) > 950, "the tests above ran first"
    forbidden = set().union(*(unkeyed_forms(value) for value in USED_NIKS))
    haystacks = await stream_contents(agencies)
    assert len(haystacks) > 2000, "the streams hold every registration's events"
    haystacks += files_under(agencies.root)
    index = await database_contents(agencies.database_urls[(HUB, "identity")])
    assert len(index) > 1000, "the index holds a claim of every registration"
    haystacks += index
    for service in HUB_DATABASES:
        haystacks += await database_contents(agencies.database_urls[(HUB, service)])
    text = "\n".join(haystacks)
    found = sorted(value for value in forbidden if value in text)
    assert found == [], found[:5]
