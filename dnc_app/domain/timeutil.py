"""UTC timestamps: stored naive-UTC (portable across SQLite and PostgreSQL), returned aware."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.types import DateTime, TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(value: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a Z, e.g. 2026-11-26T10:15:30.123Z."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # datetime's own formatter (C), truncating to milliseconds: strftime costs several
    # times more, on every entry an answer carries.
    return value.isoformat(timespec="milliseconds") + "Z"


class UTCDateTime(TypeDecorator):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value
