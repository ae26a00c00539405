"""The column type of every stored instant: written in UTC, read back with its offset."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that always answers an aware datetime in UTC.

    PostgreSQL keeps the offset; SQLite keeps none, so SQLAlchemy hands its values back naive,
    and an aware value written with another offset would be stored in that offset's local time.
    Here every value is converted to UTC before it is written (a naive one is taken to be UTC
    already), and a value read without an offset is UTC by that rule: an API never answers a
    timestamp a client cannot place in time."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        # An instant plus an interval (`expires_at + timedelta(...)`) binds the interval as an
        # interval, not as an instant.
        return self.impl_instance.coerce_compared_value(op, value)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
