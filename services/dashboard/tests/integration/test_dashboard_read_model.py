"""The read model fed by the bus: the figures of a scenario whose events arrive out of order,
the same figures after a rebuild from the streams, and who may see what."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import jwt
from nats.aio.client import Client as NatsClient

from jembatan_contracts import (
    CandidateIdentityCleared,
    CandidateRegistered,
    DuplicateRegistrationFound,
    Event,
    IdentityCheck,
    Track,
)
from jembatan_kit.issuers import LocalIssuer, issue_token
from jembatan_kit.testing.helpers import consumers_drained, eventually, issuer_for_tests

Scenario = Any  # the `kota_serang` and `funders` fixtures (../conftest.py)


def bearer(agency: str, user: str = "analyst-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(issuer_for_tests(agency), user, [])}"}


async def publish(nats_client: NatsClient, events: list[Event]) -> None:
    js = nats_client.jetstream()
    for event in events:
        await js.publish(
            event.subject,
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(event.event_id)},
        )


async def funnel(client: httpx.AsyncClient, caller: str, **params: Any) -> dict[str, Any]:
    """The figures `params` ask for, as a user of agency `caller` sees them."""
    response = await client.get(
        "/api/funnel", params={"year": 2026, **params}, headers=bearer(caller)
    )
    assert response.status_code == 200, response.text
    figures: dict[str, Any] = response.json()
    return figures


async def test_rebuilt_figures_equal_the_live_ones(
    dashboard: httpx.AsyncClient, nats_client: NatsClient, kota_serang: Scenario, funders: Scenario
) -> None:
    journeys = kota_serang.journeys + funders.journeys
    # Later steps first: each event type has its own consumer, so arrival order is never given.
    events = [event for journey in journeys for event in reversed(journey.events)]
    await publish(nats_client, events)
    # Published under Kalimantan Timur's prefix, claiming to be Kota Serang's: counted neither
    # live nor by the rebuild.
    [registration, *_] = journeys[0].events
    forged = registration.model_copy(
        update={"event_id": uuid.uuid4(), "candidate_id": uuid.uuid4()}
    )
    await nats_client.jetstream().publish(
        type(forged).subject_for("kaltim"), forged.model_dump_json().encode()
    )

    async def caught_up() -> bool:
        figures = await funnel(dashboard, "kota-serang")
        return kota_serang.seen_in(figures) == kota_serang.expected

    await eventually(caught_up, timeout_s=30)
    # The national figures also count the other agencies' journeys, which may still be arriving
    # once Kota Serang's are all in.
    await eventually(lambda: consumers_drained(nats_client, "dashboard-"), timeout_s=30)
    live = {
        "kota-serang": await funnel(dashboard, "kota-serang"),
        "national": await funnel(dashboard, "kemnaker"),
        "kaltim-ssw": await funnel(dashboard, "kemnaker", agency="kaltim", programme="SSW"),
        "boyolali": await funnel(dashboard, "boyolali"),
        "kaltim-2025": await funnel(dashboard, "kaltim", year=2025),
    }
    expected_losses = {k: v for k, v in funders.expected.items() if not k.startswith("boyolali")}
    assert funders.seen_in(live["national"]) == expected_losses
    arrears = {
        b["bucket"]: (b["loans"], b["amount_idr"]) for b in live["boyolali"]["arrears"]["buckets"]
    }
    owed = {bucket: seen for bucket, seen in arrears.items() if seen[0]}
    assert owed == funders.expected["boyolali_arrears"]

    rebuilt = await dashboard.post("/api/rebuild", headers=bearer("kemnaker", "operator-1"))
    assert rebuilt.status_code == 200, rebuilt.text
    assert sum(rebuilt.json()["replayed"].values()) == len(events)
    assert rebuilt.json()["skipped"] == 1
    assert {
        "kota-serang": await funnel(dashboard, "kota-serang"),
        "national": await funnel(dashboard, "kemnaker"),
        "kaltim-ssw": await funnel(dashboard, "kemnaker", agency="kaltim", programme="SSW"),
        "boyolali": await funnel(dashboard, "boyolali"),
        "kaltim-2025": await funnel(dashboard, "kaltim", year=2025),
    } == live
    assert live["national"]["stages"][0]["reached"] == 6 + 5  # and the funders' 2026 intake

    token = issue_token(issuer_for_tests("kemnaker"), "analyst-pusat", [])
    for lang, heading, never_departed, owed in (
        ("en", "The funder's losses", "never departed", "11,000,000"),
        ("id", "Kerugian pemberi dana talangan", "tidak jadi berangkat", "11.000.000"),
    ):
        page = await dashboard.get(
            "/",
            params={"year": 2026, "lang": lang},
            headers={"cookie": f"jembatan_token={token}"},
        )
        assert page.status_code == 200
        assert heading in html.unescape(page.text) and never_departed in page.text
        assert f'data-testid="awaiting-owed-boyolali">{owed}<' in page.text


async def test_a_caller_sees_their_own_agency_and_kemnaker_sees_all(
    dashboard: httpx.AsyncClient,
) -> None:
    own = await funnel(dashboard, "kota-serang")
    assert own["scope"] == {"agency": "kota-serang", "programme": None, "year": 2026}
    assert (await funnel(dashboard, "kemnaker"))["scope"]["agency"] is None

    other = await dashboard.get(
        "/api/funnel", params={"agency": "kaltim"}, headers=bearer("kota-serang")
    )
    assert other.status_code == 403
    assert other.json()["error"] == "agency_scope"
    anonymous = await dashboard.get("/api/funnel")
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "authentication")
    another_deployments = LocalIssuer.generate("kemnaker")  # its Kemnaker key, not this one's
    forged = await dashboard.get(
        "/api/funnel",
        headers={"Authorization": f"Bearer {issue_token(another_deployments, 'x', [])}"},
    )
    assert forged.status_code == 401
    assert forged.json()["details"] == {"reason": "unknown_key"}
    claiming_national = await dashboard.get(
        "/api/funnel",
        headers={
            "Authorization": "Bearer "
            + jwt.encode(
                jwt.decode(
                    issue_token(issuer_for_tests("kota-serang"), "x", []),
                    options={"verify_signature": False},
                )
                | {"agency": "kemnaker"},
                issuer_for_tests("kota-serang").signing_key,
                "EdDSA",
                headers={"kid": issuer_for_tests("kota-serang").kid},
            )
        },
    )
    assert claiming_national.status_code == 401
    assert claiming_national.json()["details"] == {"reason": "agency_not_issuers"}
    refused = await dashboard.post("/api/rebuild", headers=bearer("kota-serang"))
    assert (refused.status_code, refused.json()["error"]) == (403, "national_only")

    own_targets = await dashboard.get("/api/targets", headers=bearer("kota-serang"))
    assert [(t["agency"], t["departures"]) for t in own_targets.json()] == [("kota-serang", 100)]
    every_target = await dashboard.get("/api/targets", headers=bearer("kemnaker"))
    assert {t["agency"] for t in every_target.json()} == {"kemnaker", "kota-serang"}

    token = issue_token(issuer_for_tests("kota-serang"), "officer-7", [])
    other_page = await dashboard.get(
        "/", params={"agency": "kaltim"}, headers={"cookie": f"jembatan_token={token}"}
    )
    assert other_page.status_code == 403
    assert "the figures of kaltim are for kaltim and Kemnaker" in other_page.text


async def test_the_page_signs_in_with_a_token_and_speaks_both_languages(
    dashboard: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    assert (await dashboard.get("/")).headers["location"].startswith("/login")
    wrong = await dashboard.post("/login", data={"token": "not-a-token", "lang": "en"})
    assert wrong.status_code == 401
    assert "the token is not valid here" in wrong.text

    token = issue_token(issuer_for_tests("kota-serang"), "officer-7", [])
    signed_in = await dashboard.post("/login", data={"token": token, "lang": "id"})
    assert signed_in.status_code == 303
    assert "httponly" in signed_in.headers["set-cookie"].lower()
    assert token not in signed_in.headers["location"]

    cookie = signed_in.headers["set-cookie"].split(";")[0]
    page = await dashboard.get(
        "/", params={"year": 2026}, headers={"accept-language": "id", "cookie": cookie}
    )
    assert page.status_code == 200
    assert "Corong kandidat" in page.text and "Keberangkatan per bulan" in page.text
    english = await dashboard.get(
        "/", params={"year": 2026, "lang": "en"}, headers={"cookie": cookie}
    )
    assert "Departures per month" in english.text
    for service in ("8001", "8002", "8003", "8004"):
        assert f"http://127.0.0.1:{service}/docs" in english.text
    assert 'href="/asyncapi' in english.text

    catalogue = (await dashboard.get("/asyncapi.json")).json()
    assert catalogue["asyncapi"] == "3.0.0"
    assert "DailyScoreRecorded" in catalogue["channels"]
    assert "jembatan.*.training.daily-score.recorded.v1" in (await dashboard.get("/asyncapi")).text


async def test_registrations_the_national_index_has_not_cleared_are_counted(
    dashboard: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    """Provisional registrations, and the two of a person registered twice, are counted until
    the index clears them; the later word wins whichever consumer hears it first."""
    told = datetime.now(UTC)

    def provisional() -> CandidateRegistered:
        return CandidateRegistered(
            agency="kaltim",
            journey_id=uuid.uuid4(),
            candidate_id=uuid.uuid4(),
            track=Track.TITP,
            preferred_sector="automotive",
            education="SMK",
            province_code="64",
            registered_on=date(2026, 3, 2),
            identity_check=IdentityCheck.PROVISIONAL,
            occurred_at=told,
        )

    later, earlier, cleared, waiting = (provisional() for _ in range(4))
    found = [
        DuplicateRegistrationFound(
            agency="kaltim",
            journey_id=registered.journey_id,
            candidate_id=registered.candidate_id,
            suspended=suspended,
            reason="registered twice",
            found_on=date(2026, 3, 3),
            occurred_at=told + timedelta(seconds=1),
        )
        for registered, suspended in ((later, True), (earlier, False))
    ]
    lifted = CandidateIdentityCleared(
        agency="kaltim",
        journey_id=cleared.journey_id,
        candidate_id=cleared.candidate_id,
        cleared_on=date(2026, 3, 3),
        occurred_at=told + timedelta(seconds=1),
    )
    await publish(nats_client, [lifted, *found, later, earlier, cleared, waiting])
    expected = {"provisional": 1, "duplicate": 1, "suspended": 1}

    async def counted() -> bool:
        return (await funnel(dashboard, "kemnaker"))["national_checks"] == expected

    await eventually(counted, timeout_s=20)
    assert (await funnel(dashboard, "boyolali"))["national_checks"] == dict.fromkeys(expected, 0)
