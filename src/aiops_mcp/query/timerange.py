"""Time ranges and instants as people and models type them, resolved to exact UTC times.

A range is given either as one text, or as explicit `start`/`end` times. Text is
case-insensitive; a leading "the", "in the", "over the", "during the" or "for the" is ignored.

Range texts:
- Rolling, ending now: "last 24 hours", "last 24h", "past 2 days", "the last 30 minutes",
  "previous 90m", bare durations "24h", "1d", "90m", "1w", "1h30m", and "last hour",
  "past day", "the last week" (= 7 days). Units: s, m, h, d, w (and their English words).
  Months and years are refused (their length varies): give days, e.g. "last 30d".
  An upper-case "M" is refused as ambiguous (minutes or months?).
- Calendar (midnight to midnight in the time zone, UTC by default): "today" (midnight to now),
  "yesterday", a date "2026-11-24" (that whole day), "this week" (Monday 00:00 to now),
  "last week" / "previous week" (the previous Monday 00:00 to this Monday 00:00).
  Note: "last week" is the calendar week, while "the last week" and "past week" are the last 7 days.
- From a time until now: "since 14:00", "since yesterday 14:00", "since 2h ago", "from now-6h",
  and Grafana-like "now-24h" or "-2h" alone.
- Between two times: "between 14:00 and 15:00", "from X to Y", "from X until Y", "X to Y".

Times (range endpoints, `start`/`end`, and `parse_instant`):
- "now", "now-1h", "now - 2 hours", "-2h", "2h ago", "90 minutes ago".
- RFC 3339: "2026-11-24T14:30:00Z", "2026-11-24T14:30:00.123+02:00".
- "2026-11-24 14:30" or "2026-11-24T14:30:00" without an offset: in the time zone (UTC by default).
- A date "2026-11-24": its 00:00. "today" and "yesterday": their 00:00.
- "yesterday 14:30", "today at 2pm", "14:30 yesterday".
- A time of day alone, "14:00" or "2pm": its most recent past occurrence (yesterday's when today's
  is still ahead, which the description says). As the end of a range it is the first occurrence
  after the start, so "between 23:00 and 01:00" crosses midnight.
- Unix timestamps, recognised by magnitude: seconds (up to 11 digits), milliseconds (12-14),
  microseconds (15-17) or nanoseconds (18-20, as Loki returns them); fractions allowed.
  Values before 2001-09-09 (fewer than 10 digits in seconds) are refused: add a unit for a duration.

Time zones: a trailing IANA zone name ("yesterday Europe/Paris", "since 09:00 in America/New_York")
or the `tz` argument sets the zone for calendar words, dates and times without an offset; a zone in
the text wins over `tz`. Days in a zone follow its daylight-saving changes (23 or 25 hours).

Checks: an end in the future is clamped to now (noted in the description when it was more than a
minute ahead); a start in the future, an empty or reversed range, and a range longer than the limit
raise `TimeRangeError` with what to change. Nothing is guessed: text that does not match a form
above raises `TimeRangeError` listing the accepted forms.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from aiops_mcp.query.errors import TimeRangeError

TIME_RANGE_FORMATS = (
    "Accepted ranges: 'last 24h', 'past 2 days', '90m' (ending now); 'today', 'yesterday', "
    "'this week', 'last week' (calendar, UTC unless a zone follows, e.g. 'yesterday Europe/Paris'); "
    "a date '2026-11-24' (that whole day); 'since 14:00', 'since yesterday 14:00', 'now-6h'; "
    "'between 14:00 and 15:00', 'from X to Y'. "
    "Times: RFC 3339 '2026-11-24T14:30:00Z', '2026-11-24 14:30' (UTC), unix seconds, "
    "'now-1h', '2h ago', 'yesterday 14:30'."
)
TIME_FORMATS = (
    "Accepted times: 'now', 'now-1h', '-2h', '2h ago', RFC 3339 '2026-11-24T14:30:00Z', "
    "'2026-11-24 14:30' (UTC), a date '2026-11-24', unix seconds '1795496400', "
    "'yesterday 14:30', '14:30' (its most recent occurrence)."
)

# An end this close to now (clock skew, a slow client) is clamped without a note.
FUTURE_ALLOWANCE = timedelta(seconds=60)

_UNIT_SECONDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), 604800),
}
_VARIABLE_UNITS = frozenset(("mo", "mon", "month", "months", "y", "yr", "yrs", "year", "years"))
_LONGEST_DURATION = 100 * 365 * 86400
_FILLERS = ("in the ", "over the ", "during the ", "for the ", "within the ", "the ")

_NUM = r"[0-9]+(?:\.[0-9]+)?"
_DURATION_RE = re.compile(rf"(?:{_NUM}\s*[a-z]+\s*)+", re.ASCII)
_DURATION_PART_RE = re.compile(rf"({_NUM})\s*([a-z]+)", re.ASCII)
_ROLLING_RE = re.compile(r"(?:(?:last|past|previous)\s+)?(?P<dur>.+)", re.ASCII)
_IMPLICIT_ONE_RE = re.compile(r"(?:last|past|previous)\s+(?P<unit>second|minute|hour|day|week)", re.ASCII)
_NOW_RE = re.compile(r"now\s*(?P<sign>[+-])\s*(?P<dur>.+)", re.ASCII)
_MINUS_RE = re.compile(r"-\s*(?P<dur>.+)", re.ASCII)
_AGO_RE = re.compile(r"(?P<dur>.+?)\s+ago", re.ASCII)
_UNIX_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_DATE_TIME_RE = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:(?:t|\s+)(?P<h>[0-9]{2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]{1,9}))?)?"
    r"\s*(?P<off>z|[+-][0-9]{2}:?[0-9]{2})?)?",
    re.ASCII,
)
_CLOCK_RE = re.compile(
    r"(?P<h>[0-9]{1,2})(?::(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2}))?)?\s*(?P<ap>am|pm|a\.m\.|p\.m\.)?",
    re.ASCII,
)
_DAY_CLOCK_RE = re.compile(r"(?P<day>today|yesterday)\s+(?:at\s+)?(?P<clock>.+)", re.ASCII)
_CLOCK_DAY_RE = re.compile(r"(?P<clock>.+?)\s+(?P<day>today|yesterday)", re.ASCII)
_SINCE_RE = re.compile(r"(?:since|from|after)\s+(?P<a>.+)", re.ASCII)
_BETWEEN_RES = (
    re.compile(r"between\s+(?P<a>.+?)\s+and\s+(?P<b>.+)", re.ASCII),
    re.compile(r"(?:(?:from|since)\s+)?(?P<a>.+?)\s+(?:to|until|till)\s+(?P<b>.+)", re.ASCII),
)
_UPPER_M_RE = re.compile(r"[0-9]\s*M(?![a-zA-Z])", re.ASCII)
_ZONE_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", re.ASCII)


@dataclass(frozen=True)
class TimeRange:
    """A resolved, checked range: aware UTC `start` < `end`, and a `description` saying how the
    text was read, e.g. "yesterday (2026-11-24 00:00 to 2026-11-25 00:00 UTC)"."""

    start: datetime
    end: datetime
    description: str

    @property
    def seconds(self) -> float:
        """Length of the range in seconds."""
        return (self.end - self.start).total_seconds()

    @property
    def start_ts(self) -> float:
        """Start as unix seconds."""
        return self.start.timestamp()

    @property
    def end_ts(self) -> float:
        """End as unix seconds."""
        return self.end.timestamp()


@dataclass(frozen=True)
class _Context:
    now: datetime
    zone: tzinfo
    zone_name: str

    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def at(self, day: date, clock: time = time()) -> datetime:
        """The UTC instant of a wall-clock time on a local date in the context's zone."""
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)


@dataclass(frozen=True)
class _Point:
    """A parsed time. `kind`: relative, absolute, date, day (today/yesterday) or clock (time of day)."""

    at: datetime
    kind: str
    clock: time | None = None
    note: str | None = None


@dataclass
class _Span:
    start: datetime
    end: datetime
    notes: list[str] = field(default_factory=list)


def parse_time_range(
    text: str | None = None,
    *,
    start: str | None = None,
    end: str | None = None,
    now: datetime,
    max_range: timedelta,
    default: str = "last 1h",
    tz: str | None = None,
) -> TimeRange:
    """Resolve a range given as `text` ("last 24h", "yesterday", "since 14:00", ...) or as explicit
    `start`/`end` times (RFC 3339, unix seconds, "now-1h", ...), never both.

    Blank arguments count as absent, and so does a `text` equal to `default` when `start` or `end`
    is given (a tool can then use the default as its parameter's default). With neither, `default`
    is used. With only `start`, the range ends now; with only `end`, it has the length of `default`
    and ends at `end`. See the module docstring for every accepted form. Raises TimeRangeError for
    anything not understood, a start in the future, an empty or reversed range, or a range longer
    than `max_range`.
    """
    text, start, end = (_blank_to_none(v) for v in (text, start, end))
    bounded = start is not None or end is not None
    if bounded and text is not None and " ".join(text.split()) == " ".join(default.split()):
        text = None
    if text is not None and bounded:
        raise TimeRangeError("give either a time range text or start/end times, not both")
    ctx = _context(now, tz)
    try:
        if start is None and end is None:
            return _range_from_text(text or default, ctx, max_range)
        return _range_from_bounds(start, end, ctx, max_range, default)
    except TimeRangeError:
        raise
    except (OverflowError, ValueError) as exc:
        # Out-of-range dates and durations (month 13, "last 999999999 weeks") from datetime itself.
        raise TimeRangeError(f"cannot use that time range ({exc}). {TIME_RANGE_FORMATS}") from exc


def parse_instant(text: str | None, *, now: datetime, tz: str | None = None) -> datetime:
    """Resolve one time (aware UTC) such as "now", "now-5m", "2h ago", RFC 3339, unix seconds,
    "2026-11-24 14:30" (UTC unless a zone follows or `tz` is given), "yesterday 14:30", "14:30"
    (its most recent occurrence), a date (its 00:00). None or blank means now.

    A time in the future by more than a minute raises TimeRangeError; within a minute it is now.
    """
    text = _blank_to_none(text)
    ctx = _context(now, None if text is None else tz)
    if text is None:
        return ctx.now
    core, ctx = _split_zone(text, ctx)
    try:
        point = _parse_point(_normalise(core), ctx)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, TimeRangeError):
            raise
        raise TimeRangeError(f"cannot use time {_quote(text)} ({exc}). {TIME_FORMATS}") from exc
    if point is None:
        raise TimeRangeError(f"cannot understand time {_quote(text)}. {TIME_FORMATS}")
    if point.at - ctx.now > FUTURE_ALLOWANCE:
        raise TimeRangeError(f"time {_fmt(point.at)} UTC is in the future (now is {_fmt(ctx.now)} UTC)")
    return min(point.at, ctx.now)


# --- context, zones and normalisation -------------------------------------------------------------


def _blank_to_none(value: str | None) -> str | None:
    return value if value is not None and value.strip() else None


def _context(now: datetime, tz: str | None) -> _Context:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    utc_now = now.astimezone(UTC).replace(microsecond=0)
    if tz is None or not tz.strip():
        return _Context(utc_now, UTC, "UTC")
    name = _zone_name(tz.strip())
    if name is None:
        raise TimeRangeError(
            f"unknown time zone {_quote(tz)}: use an IANA name such as 'Europe/Paris' or 'UTC'"
        )
    return _Context(utc_now, ZoneInfo(name), name)


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    names = available_timezones() - {"localtime", "Factory"}
    return {name.lower(): name for name in names}


def _zone_name(token: str) -> str | None:
    """The canonical IANA name for `token` (case-insensitive), or None when it is not a zone."""
    if token.upper() in ("UTC", "Z"):
        return "UTC"
    if not _ZONE_TOKEN_RE.fullmatch(token):
        return None
    known = _zone_names()
    if known:
        return known.get(token.lower())
    try:  # no zone list on this system (e.g. tzdata missing): ask zoneinfo directly
        ZoneInfo(token)
    except Exception:
        return None
    return token


def _split_zone(text: str, ctx: _Context) -> tuple[str, _Context]:
    """Strip a trailing zone name ("yesterday Europe/Paris", "... in UTC") into the context."""
    words = text.split()
    if len(words) < 2:
        return text, ctx
    name = _zone_name(words[-1])
    if name is None:
        return text, ctx
    rest = words[:-1]
    if len(rest) > 1 and rest[-1].lower() == "in":
        rest = rest[:-1]
    return " ".join(rest), _Context(ctx.now, UTC if name == "UTC" else ZoneInfo(name), name)


def _normalise(text: str) -> str:
    """Lower-case, single spaces, leading filler words dropped. "the last week" becomes "past week"
    (7 days): only a bare "last week" is the calendar week."""
    if _UPPER_M_RE.search(text):
        raise TimeRangeError(
            f"{_quote(text)}: 'M' is ambiguous (minutes or months?): use 'm' for minutes, "
            "or days for long ranges, e.g. 'last 30d'"
        )
    low = " ".join(text.lower().split())
    for filler in _FILLERS:
        if low.startswith(filler):
            low = low[len(filler) :]
            return "past week" if low in ("last week", "previous week") else low
    return low


def _quote(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


# --- ranges -----------------------------------------------------------------------------------------


def _range_from_text(text: str, ctx: _Context, max_range: timedelta) -> TimeRange:
    core, ctx = _split_zone(text, ctx)
    low = _normalise(core)
    span = _rolling(low, ctx) or _calendar_week(low, ctx) or _between(low, ctx) or _since(low, ctx)
    span = span or _lone(low, core, ctx)
    return _finish(span, " ".join(core.split()), ctx, max_range)


def _range_from_bounds(
    start: str | None, end: str | None, ctx: _Context, max_range: timedelta, default: str
) -> TimeRange:
    if start is None:
        assert end is not None
        end_point = _point_or_error(end, "end", ctx)
        length = _range_from_text(default, ctx, max_range).seconds
        span = _Span(end_point.at - timedelta(seconds=length), end_point.at, _notes(end_point))
        return _finish(span, f"{default} until {' '.join(end.split())}", ctx, max_range)
    start_point = _point_or_error(start, "start", ctx)
    if end is None:
        span = _Span(start_point.at, ctx.now, _notes(start_point))
        return _finish(span, f"since {' '.join(start.split())}", ctx, max_range)
    end_point = _point_or_error(end, "end", ctx)
    span = _span_between(start_point, end_point, ctx)
    return _finish(span, f"from {' '.join(start.split())} to {' '.join(end.split())}", ctx, max_range)


def _point_or_error(text: str, role: str, ctx: _Context) -> _Point:
    core, ctx = _split_zone(text, ctx)
    point = _parse_point(_normalise(core), ctx)
    if point is None:
        raise TimeRangeError(f"cannot understand {role} time {_quote(text)}. {TIME_FORMATS}")
    return point


def _notes(*points: _Point) -> list[str]:
    return [p.note for p in points if p.note]


def _rolling(text: str, ctx: _Context) -> _Span | None:
    """'last 24h', 'past 2 days', '90m', 'last hour', 'the last week' (7 days); not 'last week'."""
    implicit = _IMPLICIT_ONE_RE.fullmatch(text)
    if implicit and text not in ("last week", "previous week"):
        seconds: float | None = _UNIT_SECONDS[implicit["unit"]]
    else:
        match = _ROLLING_RE.fullmatch(text)
        seconds = _duration(match["dur"]) if match else None
    if seconds is None:
        return None
    if seconds <= 0:
        raise TimeRangeError(f"{_quote(text)}: the duration must be positive, e.g. 'last 1h'")
    return _Span(ctx.now - timedelta(seconds=seconds), ctx.now)


def _calendar_week(text: str, ctx: _Context) -> _Span | None:
    """'this week' (Monday 00:00 to now) and 'last week' (the previous Monday-to-Monday)."""
    today = ctx.today()
    monday = today - timedelta(days=today.weekday())
    if text == "this week":
        return _Span(ctx.at(monday), ctx.now)
    if text in ("last week", "previous week"):
        return _Span(ctx.at(monday - timedelta(days=7)), ctx.at(monday))
    return None


def _since(text: str, ctx: _Context) -> _Span | None:
    match = _SINCE_RE.fullmatch(text)
    if match is None:
        return None
    point = _parse_point(match["a"], ctx)
    if point is None:
        raise TimeRangeError(f"cannot understand the start {_quote(match['a'])}. {TIME_FORMATS}")
    return _Span(point.at, ctx.now, _notes(point))


def _between(text: str, ctx: _Context) -> _Span | None:
    for pattern in _BETWEEN_RES:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        first, second = _parse_point(match["a"], ctx), _parse_point(match["b"], ctx)
        if first is not None and second is not None:
            return _span_between(first, second, ctx)
        bad = match["a"] if first is None else match["b"]
        raise TimeRangeError(f"cannot understand the time {_quote(bad)}. {TIME_FORMATS}")
    return None


def _span_between(first: _Point, second: _Point, ctx: _Context) -> _Span:
    """A bare time of day at the end means its first occurrence after the start."""
    end = second.at
    notes = _notes(first)
    if second.clock is not None:
        local_start = first.at.astimezone(ctx.zone)
        end = ctx.at(local_start.date(), second.clock)
        if end <= first.at:
            end = ctx.at(local_start.date() + timedelta(days=1), second.clock)
    else:
        notes += _notes(second)
    return _Span(first.at, end, notes)


def _lone(text: str, original: str, ctx: _Context) -> _Span:
    """A single time as the whole text: a date or day is that day, 'now-6h' or '-2h' means since."""
    point = _parse_point(text, ctx)
    if point is None:
        raise TimeRangeError(f"cannot understand time range {_quote(original)}. {TIME_RANGE_FORMATS}")
    if point.kind in ("date", "day"):
        next_midnight = ctx.at(point.at.astimezone(ctx.zone).date() + timedelta(days=1))
        return _Span(point.at, min(next_midnight, ctx.now))
    if point.kind == "relative" and point.at < ctx.now:
        return _Span(point.at, ctx.now)
    raise TimeRangeError(
        f"{_quote(original)} is a single time, not a range: say 'since {original}', "
        f"'between {original} and ...', or give a duration such as 'last 1h'"
    )


def _finish(span: _Span, label: str, ctx: _Context, max_range: timedelta) -> TimeRange:
    now = ctx.now
    if span.start > now:
        raise TimeRangeError(
            f"the start {_fmt(span.start)} UTC is in the future (now is {_fmt(now)} UTC); "
            "for a time of day that has not come yet today, say 'yesterday HH:MM'"
        )
    if span.end > now:
        if span.end - now > FUTURE_ALLOWANCE:
            span.notes.append(f"end {_fmt(span.end)} was in the future, clamped to now")
        span.end = now
    if span.start >= span.end:
        raise TimeRangeError(
            f"empty or reversed range: start {_fmt(span.start)} UTC is not before end {_fmt(span.end)} UTC; "
            "note that a date as an endpoint means its 00:00 (give the date alone for the whole day)"
        )
    if span.end - span.start > max_range:
        raise TimeRangeError(
            f"range of {_hours(span.end - span.start)} exceeds the limit of {_hours(max_range)} "
            f"(MAX_QUERY_RANGE_HOURS): ask for a shorter range, e.g. 'last {_hours(max_range)}'"
        )
    return TimeRange(span.start, span.end, _describe(span, label, ctx))


def _describe(span: _Span, label: str, ctx: _Context) -> str:
    if ctx.zone_name != "UTC":
        label = f"{label} in {ctx.zone_name}"
    seconds = any(t.second or t.microsecond for t in (span.start, span.end))
    details = "; ".join([f"{_fmt(span.start, seconds)} to {_fmt(span.end, seconds)} UTC", *span.notes])
    return f"{label} ({details})"


def _fmt(moment: datetime, seconds: bool = True) -> str:
    """'2026-11-24 14:30', with seconds when asked for and not zero."""
    moment = moment.astimezone(UTC)
    with_seconds = seconds and bool(moment.second or moment.microsecond)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def _hours(delta: timedelta) -> str:
    hours = f"{delta.total_seconds() / 3600:.1f}".rstrip("0").rstrip(".")
    return f"{hours}h"


# --- single times -------------------------------------------------------------------------------


def _duration(text: str) -> float | None:
    """Seconds in a human duration ('24h', '2 days', '1h30m', '1.5 hours'), None if not one."""
    if not _DURATION_RE.fullmatch(text):
        return None
    total = 0.0
    for amount, unit in _DURATION_PART_RE.findall(text):
        if unit in _VARIABLE_UNITS:
            raise TimeRangeError(
                f"{_quote(text)}: months and years vary in length: give days instead, e.g. 'last 30d'"
            )
        if unit not in _UNIT_SECONDS:
            return None
        total += float(amount) * _UNIT_SECONDS[unit]
    if total > _LONGEST_DURATION:
        raise TimeRangeError(f"{_quote(text)} is too long a duration: give at most a few weeks, e.g. '7d'")
    return total


def _parse_point(text: str, ctx: _Context) -> _Point | None:
    """One time in normalised (lower-case) text, or None when it matches no accepted form."""
    for parser in (_relative, _unix, _date_time, _day_word, _clock_only):
        point = parser(text, ctx)
        if point is not None:
            return point
    return None


def _relative(text: str, ctx: _Context) -> _Point | None:
    if text == "now":
        return _Point(ctx.now, "relative")
    sign = 1
    if match := _NOW_RE.fullmatch(text):
        sign = 1 if match["sign"] == "+" else -1
    else:
        match = _MINUS_RE.fullmatch(text) or _AGO_RE.fullmatch(text)
        sign = -1
    seconds = _duration(match["dur"]) if match else None
    if seconds is None:
        return None
    return _Point(ctx.now + sign * timedelta(seconds=seconds), "relative")


def _unix(text: str, ctx: _Context) -> _Point | None:
    """Unix time; the unit follows from the magnitude (s, ms, µs, ns)."""
    if not _UNIX_RE.fullmatch(text):
        return None
    value = float(text)
    for limit, scale in ((1e11, 1.0), (1e14, 1e3), (1e17, 1e6), (1e20, 1e9)):
        if value < limit:
            seconds = value / scale
            break
    else:
        raise TimeRangeError(f"{_quote(text)} is too large for a unix timestamp (s, ms, µs or ns)")
    if seconds < 1e9:
        raise TimeRangeError(
            f"{_quote(text)} is not a time: a unix timestamp has 10 digits in seconds (13 in ms); "
            "for a duration add a unit, e.g. '24h'"
        )
    return _Point(datetime.fromtimestamp(seconds, UTC), "absolute")


def _date_time(text: str, ctx: _Context) -> _Point | None:
    """RFC 3339 and 'YYYY-MM-DD[ HH:MM[:SS[.fff]]]'; without an offset, in the context's zone."""
    match = _DATE_TIME_RE.fullmatch(text)
    if match is None:
        return None
    day = date(int(match["y"]), int(match["mo"]), int(match["d"]))
    if match["h"] is None:
        return _Point(ctx.at(day), "date")
    fraction = (match["f"] or "0")[:6].ljust(6, "0")
    clock = time(int(match["h"]), int(match["mi"]), int(match["s"] or 0), int(fraction))
    offset = match["off"]
    if offset is None:
        return _Point(ctx.at(day, clock), "absolute")
    zone = UTC if offset == "z" else _offset_zone(offset)
    return _Point(datetime.combine(day, clock, tzinfo=zone).astimezone(UTC), "absolute")


def _offset_zone(offset: str) -> tzinfo:
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    if delta >= timedelta(hours=24):
        raise TimeRangeError(f"{offset} is not a valid UTC offset")
    return timezone(-delta if offset[0] == "-" else delta)


def _day_word(text: str, ctx: _Context) -> _Point | None:
    """'today', 'yesterday' (their 00:00), and with a time: 'yesterday 14:30', '2pm today'."""
    if text in ("today", "yesterday"):
        return _Point(ctx.at(_day(text, ctx)), "day")
    match = _DAY_CLOCK_RE.fullmatch(text) or _CLOCK_DAY_RE.fullmatch(text)
    if match is None:
        return None
    clock = _clock(match["clock"])
    if clock is None:
        return None
    return _Point(ctx.at(_day(match["day"], ctx), clock), "absolute")


def _day(word: str, ctx: _Context) -> date:
    return ctx.today() - timedelta(days=1 if word == "yesterday" else 0)


def _clock_only(text: str, ctx: _Context) -> _Point | None:
    """A time of day alone: its most recent occurrence, yesterday's if today's is still ahead."""
    clock = _clock(text)
    if clock is None:
        return None
    today = ctx.today()
    at = ctx.at(today, clock)
    if at <= ctx.now:
        return _Point(at, "clock", clock)
    note = f"{text} today is still ahead, so {text} yesterday"
    return _Point(ctx.at(today - timedelta(days=1), clock), "clock", clock, note)


def _clock(text: str) -> time | None:
    """'14:30', '14:30:15', '2pm', '2:30 pm'; a bare number is not a time of day."""
    match = _CLOCK_RE.fullmatch(text)
    if match is None or (match["mi"] is None and match["ap"] is None):
        return None
    hour, minute, second = int(match["h"]), int(match["mi"] or 0), int(match["s"] or 0)
    if match["ap"] is not None:
        if not 1 <= hour <= 12:
            raise TimeRangeError(f"{_quote(text)} is not a valid time of day (1-12 with am/pm)")
        hour = hour % 12 + (12 if match["ap"].startswith("p") else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise TimeRangeError(f"{_quote(text)} is not a valid time of day (00:00 to 23:59:59)")
    return time(hour, minute, second)
