"""Identifiers sort in the order they were made, so the tables keyed by them grow at their end."""

from datetime import UTC, datetime

from jembatan_contracts import CandidateRegistered
from jembatan_contracts.ids import new_id


def test_ids_made_one_after_another_sort_in_that_order() -> None:
    made = [new_id() for _ in range(10_000)]

    assert made == sorted(made)
    assert len(set(made)) == len(made)
    # The same order as the text SQLite stores them as, and as PostgreSQL's uuid compares bytes.
    assert [i.hex for i in made] == sorted(i.hex for i in made)
    assert [i.bytes for i in made] == sorted(i.bytes for i in made)


def test_an_id_carries_the_millisecond_it_was_made_in() -> None:
    before = datetime.now(UTC).timestamp()
    made = new_id()
    after = datetime.now(UTC).timestamp()

    assert made.version == 7
    assert before - 0.001 <= (made.int >> 80) / 1000 <= after


def test_events_get_time_ordered_ids() -> None:
    make = CandidateRegistered.model_fields["event_id"].default_factory
    assert make is not None
    first, second = make(), make()  # type: ignore[call-arg]

    assert first.version == 7
    assert first < second
