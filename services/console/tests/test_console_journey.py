"""What the journey page makes of the services' answers before it is drawn: each event's link
to its trace."""

from __future__ import annotations

from jembatan_console.candidates import trace_link

JAEGER = (
    "http://jaeger:16686/search?service=registration"
    "&tags=%7B%22jembatan.journey_id%22%3A%22{journey_id}%22%7D&start={start_us}&end={end_us}"
)


def test_an_events_trace_is_searched_for_around_its_time() -> None:
    link = trace_link(JAEGER, "d05aad0e", "2026-12-05T21:24:00+00:00")
    assert link is not None
    assert "%22d05aad0e%22" in link
    # 21:19 to 21:29 UTC, in microseconds
    assert link.endswith("&start=1796505540000000&end=1796506140000000")
    naive = trace_link(JAEGER, "d05aad0e", "2026-12-05T21:24:00")
    assert naive == link, "a time without a zone is the services' UTC"


def test_an_event_known_by_its_day_is_searched_for_over_the_day() -> None:
    link = trace_link(JAEGER, "d05aad0e", "2026-12-05")
    assert link is not None
    assert link.endswith("&start=1796428800000000&end=1796515200000000")


def test_without_a_trace_viewer_there_is_no_link() -> None:
    assert trace_link(None, "d05aad0e", "2026-12-05") is None
    assert trace_link("", "d05aad0e", "2026-12-05") is None
