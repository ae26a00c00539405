"""The committed JSON Schemas are the contract: a change that would break a consumer of the same
major version fails here, and a compatible change must be committed with its regenerated schema."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from jembatan_contracts import CATALOGUE, CandidateRegistered, Event, PaymentRecorded, RepaymentDue
from jembatan_contracts.schemas import (
    SCHEMA_DIR,
    breaking_changes,
    current_schema,
    schema_file_name,
)


@pytest.mark.parametrize("event", CATALOGUE, ids=lambda e: e.name)
def test_no_breaking_change_against_the_committed_schema(event: type[Event]) -> None:
    committed = json.loads((SCHEMA_DIR / schema_file_name(event)).read_text())
    assert breaking_changes(committed, current_schema(event)) == []


@pytest.mark.parametrize("event", CATALOGUE, ids=lambda e: e.name)
def test_committed_schema_is_up_to_date(event: type[Event]) -> None:
    committed = json.loads((SCHEMA_DIR / schema_file_name(event)).read_text())
    assert committed == json.loads(json.dumps(current_schema(event))), (
        "regenerate with `uv run python -m jembatan_contracts.schemas` and commit the result"
    )


BASE = {
    "type": "object",
    "properties": {
        "candidate_id": {"type": "string", "format": "uuid"},
        "track": {"$ref": "#/$defs/Track"},
        "score": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    },
    "required": ["candidate_id", "track"],
    "$defs": {"Track": {"enum": ["TITP", "SSW"], "type": "string"}},
}


def _changed(**edits: object) -> dict:
    schema = json.loads(json.dumps(BASE))
    for path, value in edits.items():
        node = schema
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        if value is None:
            del node[leaf]
        else:
            node[leaf] = value
    return schema


def test_removing_a_field_breaks() -> None:
    assert breaking_changes(BASE, _changed(properties__score=None)) == [
        "field 'score' was removed or renamed"
    ]


def test_narrowing_a_type_breaks() -> None:
    narrowed = _changed(properties__score={"type": "integer"})
    assert breaking_changes(BASE, narrowed) == ["field 'score' no longer admits ['null']"]


def test_dropping_an_enum_value_breaks() -> None:
    narrowed = _changed(**{"$defs__Track": {"enum": ["TITP"], "type": "string"}})
    assert breaking_changes(BASE, narrowed) == ["field 'track' no longer admits ['enum:SSW']"]


def test_a_new_required_field_breaks() -> None:
    added = _changed(
        properties__sector={"type": "string"}, required=["candidate_id", "track", "sector"]
    )
    assert breaking_changes(BASE, added) == ["field 'sector' became required"]


def test_a_new_optional_field_and_a_widened_type_do_not_break() -> None:
    widened = _changed(
        properties__sector={"anyOf": [{"type": "string"}, {"type": "null"}]},
        **{"$defs__Track": {"enum": ["TITP", "SSW", "OTHER"], "type": "string"}},
    )
    assert breaking_changes(BASE, widened) == []


def _registered(**overrides: object) -> dict:
    payload = {
        "agency": "kaltim",
        "journey_id": str(uuid.uuid4()),
        "candidate_id": str(uuid.uuid4()),
        "track": "TITP",
        "preferred_sector": "caregiver",
        "education": "SMA",
        "province_code": "64",
        "registered_on": "2026-03-01",
    }
    payload.update(overrides)
    return payload


def test_envelope_is_filled_from_the_class() -> None:
    event = CandidateRegistered.model_validate(_registered(event_type="Forged"))
    assert event.event_type == "CandidateRegistered"
    assert event.schema_version == CandidateRegistered.version
    assert event.subject == "jembatan.kaltim.registration.candidate.registered.v1"
    assert event.occurred_at.tzinfo is not None


def test_agency_must_be_one_lowercase_subject_token() -> None:
    with pytest.raises(ValidationError, match="agency"):
        CandidateRegistered.model_validate(_registered(agency="Kal.Tim"))


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        CandidateRegistered.model_validate(_registered(occurred_at="2026-03-01T10:00:00"))
    aware = CandidateRegistered.model_validate(
        _registered(occurred_at=datetime(2026, 3, 1, tzinfo=UTC))
    )
    assert aware.occurred_at.year == 2026


def test_no_event_carries_personal_data_fields() -> None:
    forbidden = {"nik", "name", "full_name", "phone", "phone_number", "birth_date", "address"}
    for event in CATALOGUE:
        assert forbidden.isdisjoint(event.model_fields), event.name


def test_repayment_events_of_1_0_still_parse_without_the_fields_1_1_added() -> None:
    """RepaymentDue and PaymentRecorded 1.1.0 add the scheduled amount and the allocation per
    instalment; a message of 1.0.0, without them, is read as before."""
    ids = {"agency": "kaltim", "journey_id": str(uuid.uuid4()), "loan_id": str(uuid.uuid4())}
    ids["candidate_id"] = str(uuid.uuid4())
    due = RepaymentDue.model_validate(
        {**ids, "instalment_number": 2, "due_date": "2027-02-01", "amount_idr": 1_000}
    )
    recorded = PaymentRecorded.model_validate(
        {
            **ids,
            "payment_id": str(uuid.uuid4()),
            "paid_on": "2027-02-01",
            "amount_idr": 1_500,
            "instalment_numbers": [1, 2],
            "balance_idr": 500,
        }
    )
    assert (due.scheduled_amount_idr, recorded.allocations) == (None, None)
    assert (RepaymentDue.version, PaymentRecorded.version) == ("1.1.0", "1.1.0")
