"""Changes of one candidate sent at the same moment: neither is lost, and a candidate is withdrawn
once. Against real NATS and both databases."""

from __future__ import annotations

import asyncio

import httpx
from nats.aio.client import Client as NatsClient

from jembatan_kit.testing.helpers import (
    events_on,
    wait_for_events,
)

SITI = {
    "agency": "kaltim",
    "nik": "6471054506040003",
    "full_name": "Siti Rahmawati",
    "birth_date": "2004-06-05",
    "sex": "F",
    "education": "SMK",
    "track": "TITP",
    "preferred_sector": "caregiver",
}


async def test_two_corrections_at_once_are_both_kept_or_one_is_refused(
    client: httpx.AsyncClient,
) -> None:
    candidate = (
        f"/candidates/{(await client.post('/candidates', json=SITI)).json()['candidate_id']}"
    )
    changes = [{"full_name": "Siti Rahmawati Putri"}, {"education": "D3"}]

    for _ in range(5):
        answers = await asyncio.gather(*(client.patch(candidate, json=c) for c in changes))

        assert {answer.status_code for answer in answers} <= {200, 409}, [a.text for a in answers]
        view = (await client.get(candidate)).json()
        for change, answer in zip(changes, answers, strict=True):
            if answer.status_code == 200:
                assert {name: view[name] for name in change} == change, "a correction was lost"
            else:
                assert answer.json()["error"] == "changed_meanwhile"
        undo = {"full_name": SITI["full_name"], "education": SITI["education"]}
        assert (await client.patch(candidate, json=undo)).status_code == 200


async def test_two_withdrawals_at_once_withdraw_the_candidate_once(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    candidate_id = (await client.post("/candidates", json=SITI)).json()["candidate_id"]

    answers = await asyncio.gather(
        *(
            client.post(f"/candidates/{candidate_id}/withdrawal", json={"reason": reason})
            for reason in ("family", "health")
        )
    )

    assert sorted(answer.status_code for answer in answers) == [200, 409], [
        answer.text for answer in answers
    ]
    [refused] = [answer.json() for answer in answers if answer.status_code == 409]
    assert refused["error"] in {"already_withdrawn", "changed_meanwhile"}
    await wait_for_events(
        nats_client, "REGISTRATION", lambda e: e["event_type"] == "CandidateWithdrawn"
    )
    withdrawn = [
        e
        for e in await events_on(nats_client, "REGISTRATION")
        if e["event_type"] == "CandidateWithdrawn"
    ]
    assert len(withdrawn) == 1
