"""Column types that behave the same on SQLite and PostgreSQL.

`UTCDateTime` is why every datetime leaving the store is aware and in UTC: PostgreSQL
(``timestamptz``) returns aware values, SQLite returns naive ones (it stores text without an
offset). Values going in must be aware; they are converted to UTC before they are bound, so
SQLite's text sorts and compares chronologically.
"""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

MAX_ID = 2**63 - 1
"""The largest row id both SQLite and PostgreSQL (bigint) hold."""


def is_stored_id(value: int) -> bool:
    """Whether ``value`` can be a row id (a larger one would overflow the database driver)."""
    return 1 <= value <= MAX_ID


def stored_id(text: str) -> int | None:
    """The row id ``text`` names: ASCII digits of a possible id, else None (``int()`` takes
    other scripts' digits and raises on superscripts; 5,000 digits are no id either)."""
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID))
    return int(text) if digits and is_stored_id(int(text)) else None


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value is refused (its zone would be a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given: pass an aware datetime (UTC)")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp with time zone that always comes back aware in UTC, on every dialect."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        # SQLite's DATETIME drops the offset: bind naive UTC so the stored text is UTC.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
