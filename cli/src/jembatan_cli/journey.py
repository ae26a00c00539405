"""A candidate's journey across the services, found by its journey id, for `jembatan journey`.

Only what an operator needs to follow the journey is shown: ids, agency, masked NIK, track,
sectors, dates, statuses and amounts. Never a name, a birth date, a phone number or a full NIK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from .scenarios.client import PAGE


class JourneyNotFound(Exception):
    pass


@dataclass
class JourneyLine:
    service: str
    day: str
    what: str


@dataclass
class Journey:
    journey_id: str
    candidate_id: str
    agency: str
    nik_masked: str
    track: str
    status: str
    lines: list[JourneyLine] = field(default_factory=list)

    def add(self, service: str, day: str | None, what: str) -> None:
        self.lines.append(JourneyLine(service, (day or "")[:10], what))


class _Api:
    def __init__(self, http: httpx.Client, urls: dict[str, str], token: str) -> None:
        self.http = http
        self.urls = urls
        self.headers = {"authorization": f"Bearer {token}"}

    def get(self, service: str, path: str, **params: Any) -> Any:
        try:
            response = self.http.get(
                f"{self.urls[service]}{path}", params=params, headers=self.headers
            )
        except httpx.TransportError as exc:
            raise ConnectionError(
                f"{service} does not answer at {self.urls[service]}: is the system running? "
                "Start it with ./dev run"
            ) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            try:
                message = response.json().get("message") or response.json().get("detail")
            except ValueError:
                message = response.text[:300]
            raise PermissionError(
                f"{service} answered {response.status_code} to GET {path}: {message}"
            )
        return response.json()


def find_journey(urls: dict[str, str], token: str, journey_id: str) -> Journey:
    with httpx.Client(timeout=15) as http:
        api = _Api(http, urls, token)
        registered = _registration(api, journey_id)
        candidate_id = registered["candidate_id"]
        journey = Journey(
            journey_id=journey_id,
            candidate_id=candidate_id,
            agency=registered["agency"],
            nik_masked=registered["nik_masked"],
            track=registered["track"],
            status=registered["status"],
        )
        rules = f" under rules {registered['rule_set']}" if registered.get("rule_set") else ""
        journey.add(
            "registration",
            registered["registered_at"],
            f"registered by {registered['agency']}{rules}; prefers {registered['preferred_sector']}"
            f"; {len(registered['warnings'])} warning(s); status {registered['status']}",
        )
        _training(api, journey, candidate_id)
        _placement(api, journey, candidate_id)
        _financing(api, journey, candidate_id)
        return journey


def _registration(api: _Api, journey_id: str) -> dict[str, Any]:
    offset = 0
    while True:
        page = api.get("registration", "/candidates", limit=PAGE, offset=offset)
        for candidate in page or []:
            if candidate["journey_id"] == journey_id:
                return dict(candidate)
        if not page or len(page) < PAGE:
            raise JourneyNotFound(
                f"no candidate registered with journey id {journey_id} is visible to this token; "
                "check the id (a registration returns it), or use a token of the candidate's "
                "agency or kemnaker (--agency)"
            )
        offset += len(page)


def _training(api: _Api, journey: Journey, candidate_id: str) -> None:
    enrolment = api.get("training", f"/candidates/{candidate_id}")
    if enrolment is None:
        journey.add("training", None, "not enrolled yet (CandidateRegistered not handled yet)")
        return
    journey.add("training", enrolment["enrolled_at"], f"enrolled; status {enrolment['status']}")
    for change in enrolment["sector_history"][1:]:
        journey.add(
            "training",
            change["changed_at"],
            f"penjurusan: {change['previous_sector']} -> {change['sector']} ({change['reason']})",
        )
    if enrolment.get("cohort_id"):
        cohort = api.get("training", f"/cohorts/{enrolment['cohort_id']}")
        if cohort:
            stages = ", then ".join(
                f"{s['centre']} {s['starts_on']} to {s['ends_on']}" for s in cohort["stages"]
            )
            journey.add(
                "training",
                cohort["starts_on"],
                f"class {cohort['name']!r} ({cohort['mode']}): {stages}",
            )
    for result in sorted(enrolment["results"], key=lambda r: r["taken_on"]):
        detail = result.get("level") or result.get("sector") or result.get("score")
        outcome = "passed" if result["passed"] else "not passed"
        words = [result["test"], str(detail) if detail else "", outcome]
        journey.add("training", result["taken_on"], " ".join(word for word in words if word))
    readiness = enrolment["readiness"]
    if readiness["ready"]:
        met = ", ".join(rule["rule"] for rule in readiness["met"])
        journey.add("training", enrolment.get("ready_at"), f"ready for placement ({met})")
    else:
        missing = "; ".join(rule["description"] for rule in readiness["missing"])
        journey.add("training", None, f"not ready: missing {missing}")


def _placement(api: _Api, journey: Journey, candidate_id: str) -> None:
    for placement in api.get("placement", "/placements", candidate_id=candidate_id) or []:
        journey.add(
            "placement",
            placement["started_at"],
            f"{placement['track']} {placement['sector']} at {placement['employer']} "
            f"({placement['prefecture']}, via {placement['supervising_organisation']}; "
            f"JPY {placement['monthly_wage_jpy']:,} a month, {placement['contract_months']} "
            f"months); status {placement['status']}",
        )
        for step in placement["steps"]:
            detail = f" ({step['detail']})" if step.get("detail") else ""
            journey.add("placement", step["happened_on"], f"  {step['status']}{detail}")


def _financing(api: _Api, journey: Journey, candidate_id: str) -> None:
    for summary in api.get("financing", "/loans", candidate_id=candidate_id) or []:
        loan = api.get("financing", f"/loans/{summary['loan_id']}") or summary
        journey.add(
            "financing",
            loan["opened_at"],
            f"loan {loan['loan_id']} opened: Rp{loan['principal_idr']:,} charged, "
            f"Rp{loan.get('owed_idr', loan['principal_idr']):,} owed after subsidies; "
            f"repaid by {loan['repayment_channel']}; status {loan['status']}",
        )
        schedule = [i for i in loan.get("schedule", []) if not i.get("superseded")]
        if schedule:
            first = schedule[0]
            announced = "announced as due" if first["announced_at"] else "not due yet"
            journey.add(
                "financing",
                first["due_date"],
                f"first of {len(schedule)} instalments: Rp{first['amount_idr']:,} ({announced})",
            )
        for payment in loan.get("payments", []):
            journey.add(
                "financing",
                payment["paid_on"],
                f"paid Rp{payment['amount_idr']:,} by {payment['channel']} "
                f"(instalment {', '.join(map(str, payment['instalment_numbers']))})",
            )
        if "balance_idr" in loan:
            arrears = loan["arrears"]
            journey.add(
                "financing",
                arrears["as_of"],
                f"balance Rp{loan['balance_idr']:,}; arrears Rp{arrears['amount_idr']:,} "
                f"({arrears['bucket']})",
            )


def render_journey(journey: Journey) -> list[str]:
    lines = [
        f"journey {journey.journey_id}",
        f"candidate {journey.candidate_id}  agency {journey.agency}  NIK {journey.nik_masked}  "
        f"track {journey.track}  status {journey.status}",
        "",
    ]
    for line in journey.lines:
        lines.append(f"  {line.service:<13} {line.day:<10}  {line.what}")
    lines += ["", f"Its trace across the services: jembatan trace {journey.journey_id}"]
    return lines
