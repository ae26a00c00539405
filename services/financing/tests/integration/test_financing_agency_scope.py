"""A loan and everything on it (items, subsidies, payments, schedule, statement) is the
candidate's agency's, or Kemnaker's, to see and change."""

from __future__ import annotations

from typing import Any

from jembatan_contracts import Track
from jembatan_kit.testing.journeys import placed

Harness = Any  # the `harness` fixture of conftest.py: a FinancingHarness


async def test_a_province_sees_and_changes_only_its_own_candidates_loans(
    harness: Harness,
) -> None:
    runtime = await harness.start()
    ours, theirs = placed(Track.SSW, agency="kaltim"), placed(Track.SSW, agency="boyolali")
    await harness.publish(ours)
    await harness.publish(theirs)
    async with (
        harness.client(runtime) as kemnaker,
        harness.client(runtime, "kaltim") as kaltim,
        harness.client(runtime, "boyolali") as boyolali,
    ):
        loans: dict[str, str] = {}

        async def opened() -> bool:
            for placement in (ours, theirs):
                found = (
                    await kemnaker.get(
                        "/loans", params={"candidate_id": str(placement.candidate_id)}
                    )
                ).json()
                if found:
                    loans[placement.agency] = found[0]["loan_id"]
            return len(loans) == 2

        await harness.eventually(opened)
        theirs_loan = f"/loans/{loans['boyolali']}"

        assert (await boyolali.get(theirs_loan)).status_code == 200
        refused = await kaltim.get(theirs_loan)
        assert refused.status_code == 403
        assert refused.json()["error"] == "agency_scope"
        assert "belongs to agency boyolali" in refused.json()["message"]
        payment = {"reference": "BRI-1", "paid_on": "2027-06-01", "amount_idr": 1}
        subsidy = {"provider": "Kemnaker", "item": "BLK", "amount_idr": 1}
        for method, path, body in [
            ("GET", "/schedule", None),
            ("GET", "/statement", None),
            ("GET", "/statement.html", None),
            ("POST", "/payments", payment),
            ("POST", "/subsidies", subsidy),
            ("DELETE", "/items/training", None),
        ]:
            answer = await kaltim.request(method, theirs_loan + path, json=body)
            assert answer.status_code == 403, (method, path, answer.text)

        by_candidate = {"candidate_id": str(theirs.candidate_id)}
        assert (await kaltim.get("/loans", params=by_candidate)).json() == []
        assert len((await boyolali.get("/loans", params=by_candidate)).json()) == 1
        assert (
            await kaltim.get("/loans", params=by_candidate | {"agency": "boyolali"})
        ).status_code == 403
        assert (await kaltim.post("/funders", json={"name": "Dana Kaltim"})).status_code == 403
        assert (await kemnaker.post("/funders", json={"name": "Dana Nasional"})).status_code == 201
        assert (await kaltim.get("/funders")).status_code == 200
        anonymous = await kaltim.get(theirs_loan, headers={"authorization": ""})
        assert anonymous.status_code == 401
