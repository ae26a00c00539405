"""Programmes. Events carry no programme; an agency runs one programme per track, so the
dashboard names the programme from the agency and the track (e.g. Kemnaker's TITP internship via
IM Japan is `kemnaker/TITP`). Where a track is not known yet, the programme is `unknown`."""

from __future__ import annotations

UNKNOWN = "unknown"


def programme_of(track: str | None) -> str:
    """The programme within an agency: its track (TITP internship or SSW)."""
    return track or UNKNOWN
