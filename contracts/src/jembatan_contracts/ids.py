"""Identifiers for what the services create: events, candidates, journeys, placements, seats.

Each is a UUID version 7 (RFC 9562): its first 48 bits are the creation time in milliseconds,
the rest random. Sorted, they follow the order they were made in, so a table or index keyed by
them grows at its end: a transaction that adds a batch of rows rewrites a few pages of each
B-tree instead of one page a row, and what a service writes and reads for one more row stays the
same as its tables fill (the inbox of a national year holds millions of rows). A version 4 key
lands on a random page of an index that outgrows every cache. They reveal when they were made, to
the millisecond, and nothing else; an identifier that must be unguessable (a token's `jti`) is
not made here.
"""

from __future__ import annotations

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    """A new identifier, later in sort order than every one this process made before it."""
    return uuid7()
