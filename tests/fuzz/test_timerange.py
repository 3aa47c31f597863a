"""Time ranges and instants from hostile text: a checked answer or a clear `TimeRangeError`, nothing else.

`parse_time_range` is fed phrases built from its own vocabulary, hostile text (quotes, huge
strings, NUL, unicode digits, regex bombs) and random clocks, limits and zones. Whatever it
returns is a real range: aware, start before end, end not after now, no longer than the limit.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from aiops_mcp.query.errors import QueryInputError, TimeRangeError
from aiops_mcp.query.timerange import parse_instant, parse_time_range
from tests.fuzz.strategies import TIME_PHRASES, fuzz, hostile_text

WORDS = (
    "last", "past", "previous", "since", "from", "after", "between", "and", "to", "until", "the",
    "in", "ago", "now", "today", "yesterday", "this week", "last week", "at", "-", "+", ":", ".",
    "24h", "1d", "90m", "1w", "1h30m", "2 hours", "-2h", "now-6h", "now - 2 hours", "14:00", "2pm",
    "12am", "13pm", "23:59:59", "24:00", "2026-11-24", "2026-02-29", "2026-11-24T14:30:00Z",
    "2026-11-24T14:30:00.123456789+23:59", "+24:00", "1795530600", "1795530600000", "1e3",
    "99999999999999999999", "Europe/Paris", "America/New_York", "UTC", "Z", "Mars/Olympus", "5M",
    "months", "0", "0s", "-0h", "0.0000001s", "9" * 30 + "d",
)  # fmt: skip
PHRASES = st.lists(st.sampled_from(WORDS), min_size=1, max_size=7).map(" ".join)
TEXT = st.one_of(PHRASES, st.sampled_from(TIME_PHRASES), hostile_text(), st.none())
NOW = st.datetimes(datetime(2001, 9, 10), datetime(2200, 1, 1), timezones=st.just(UTC))
LIMIT = st.one_of(
    st.sampled_from((timedelta(hours=168), timedelta(hours=1), timedelta(days=3650))),
    st.timedeltas(timedelta(seconds=1), timedelta(days=36500)),
)
ZONE = st.one_of(
    st.none(), st.sampled_from(("UTC", "Europe/Paris", "Asia/Kolkata", "Pacific/Kiritimati")), TEXT
)


@fuzz(1500)
@given(text=TEXT, start=TEXT, end=TEXT, now=NOW, limit=LIMIT, tz=ZONE, default=TEXT)
def test_any_range_text_gives_a_checked_range_or_a_time_range_error(
    text: str | None,
    start: str | None,
    end: str | None,
    now: datetime,
    limit: timedelta,
    tz: str | None,
    default: str | None,
) -> None:
    try:
        found = parse_time_range(
            text, start=start, end=end, now=now, max_range=limit, tz=tz, default=default or "last 1h"
        )
    except QueryInputError as exc:
        assert isinstance(exc, TimeRangeError) and str(exc).strip()
        return
    assert found.start.tzinfo is not None and found.end.tzinfo is not None
    assert found.start < found.end <= now
    assert found.end - found.start <= limit
    assert found.description


@fuzz(800)
@given(text=TEXT, now=NOW, tz=ZONE)
def test_any_time_text_gives_a_past_instant_or_a_time_range_error(
    text: str | None, now: datetime, tz: str | None
) -> None:
    try:
        moment = parse_instant(text, now=now, tz=tz)
    except QueryInputError as exc:
        assert isinstance(exc, TimeRangeError) and str(exc).strip()
        return
    assert moment.tzinfo is not None and moment <= now
