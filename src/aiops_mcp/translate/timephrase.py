"""Time phrases in a question, rewritten as `parse_time_range` text and as a query window.

"in the last 24 hours" and "past day" become "last 24h", "last 30 minutes" "last 30m", "the past
week" "last 7d"; "today", "yesterday", "this week", "last week" (calendar), "since 14:00" and
"between 14:00 and 15:00" are kept; parts of days, weekdays, weekends, dates and "N hours ago" are
resolved at `now` (`daywords`). "during the incident" / "when the alert fired" set the time
reference "last_incident". Windows (`[24h]` in counts) are the rolling duration, 24h for yesterday,
and otherwise the range's length at `now`, rounded up to a minute. Time words that no form reads
are a TranslationError (`unresolved_time`), never a silent default.
"""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiops_mcp.query.errors import TimeRangeError
from aiops_mcp.query.timerange import parse_time_range
from aiops_mcp.translate.daywords import (
    ACCEPTED,
    LEFTOVER_RE,
    NUMBER,
    NUMBER_WORDS,
    Finder,
    Found,
    ago,
    calendar_date,
    day_part,
    fuzzy,
    weekday,
    weekend,
)
from aiops_mcp.translate.model import TranslationError

LAST_INCIDENT = "last_incident"
_WHOLE_DAYS = ("today", "yesterday")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DESCRIBING_RE = re.compile(r"\s*\b(?:during|throughout)\b")

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_UNIT_WORDS = r"seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w"
_LEAD = r"(?:(?:in|over|during|for|within|from)\s+)?(?:the\s+)?"
_ROLLING_RE = re.compile(
    rf"\b{_LEAD}(?:last|past|previous|recent)\s+(?P<n>{NUMBER})\s*(?P<u>{_UNIT_WORDS})\b"
)
_ONE_UNIT_RE = re.compile(
    r"\b(?:(?:in|over|during|for|within|from)\s+)?(?P<the>the\s+)?(?P<w>last|past|previous)\s+"
    r"(?P<u>minute|hour|day|week|month)\b"
)
_CLOCK = r"\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2}"
_DAY = r"today|yesterday"
_BETWEEN_RE = re.compile(
    rf"\b(?:(?P<d1>{_DAY})\s+)?(?:(?:between|from)\s+)?(?P<a>{_CLOCK})\s*(?:\band\b|\bto\b|\buntil\b|\btill\b|-|–)"
    rf"\s*(?P<b>{_CLOCK})(?:\s+(?P<d2>{_DAY}))?"
)
_LONE_DAY_RE = re.compile(rf"\b(?P<d>{_DAY})\b")
_POSSESSIVE_DAY_RE = re.compile(r"\b(today|yesterday)'s\b")
_BARE_RE = re.compile(r"(?<![\w\[./:-])(?P<n>\d+)(?P<u>[mhdw])(?![\w\]/])")
_SINCE_RE = re.compile(rf"\bsince\s+(?P<a>(?:(?:{_DAY})(?:\s+(?:at\s+)?(?:{_CLOCK}))?)|{_CLOCK}|midnight)")
_CALENDAR_RE = re.compile(r"\b(?:(?:earlier\s+)?(?P<w>today|yesterday)|this\s+(?P<c>week|month))\b")
_INCIDENT_RE = re.compile(
    r"\b(?:during|in|throughout|at the time of|at)\s+(?:the|that|this)\s+(?:last\s+|latest\s+|recent\s+)?"
    r"(?:incident|outage)\b"
    r"|\b(?:when|while)\s+the\s+(?:last\s+|latest\s+)?alert\s+(?:fired|was firing|went off|triggered|"
    r"was triggered|started)\b"
)
_NOW_RE = re.compile(r"\b(?:now|right now|currently|current|at the moment|at present|presently)\b")
_RANGE_WORDS_RE = re.compile(
    r"\b(?:trends?|graph|chart|plot|over time|timeline|history|evolution|show|display|visuali[sz]e|draw)\b"
)
_GREETING_RE = re.compile(r"\bgood\s+(?:morning|afternoon|evening|night)\b")


@dataclass(frozen=True)
class TimePhrase:
    """The question's time: `time_range` (None: not given), a fixed `window` when known without a
    clock, the `reference` ("last_incident"), and whether it asks for now or for a trend."""

    time_range: str | None = None
    window: str | None = None
    reference: str | None = None
    now: bool = False
    trend: bool = False


def find_time(text: str, now: datetime | None = None) -> tuple[TimePhrase, str]:
    """The time phrase of lower-cased `text` (calendar words resolved at `now`, default the
    clock), and the text with the phrases blanked out. A phrase that names a time not yet come
    ("this evening" at 10:00) raises TranslationError."""
    moment = now or datetime.now(UTC)
    text = _GREETING_RE.sub(lambda m: " " * len(m[0]), text)
    text = _POSSESSIVE_DAY_RE.sub(lambda m: m[1] + "  ", text)
    reference = None
    if match := _INCIDENT_RE.search(text):
        reference, text = LAST_INCIDENT, _blank(text, match)
    time_range, window = None, None
    for finder in FINDERS:
        found = finder(text, moment)
        if found is not None:
            time_range, window, match = found
            phrase = match[0].strip()
            text = _blank(text, match)
            if finder is _between and not (match["d1"] or match["d2"]) and (day := _LONE_DAY_RE.search(text)):
                time_range = f"between {day['d']} {match['a']} and {day['d']} {match['b']}"
                phrase, text = (
                    f"{day['d']} {phrase}",
                    _blank(text, day),
                )  # "yesterday's incident, 14:30 to 14:45"
            _check(time_range, phrase, moment)
            break
    if (
        reference is not None
        and time_range is not None
        and time_range not in _WHOLE_DAYS
        and not _ISO_DAY.fullmatch(time_range)
    ):
        reference = None  # a window finer than a day says when, better than the latest alert
    trend = bool(_RANGE_WORDS_RE.search(text))
    return TimePhrase(time_range, window, reference, bool(_NOW_RE.search(text)), trend), text


def mentions_incident(text: str) -> bool:
    """Whether lower-cased `text` refers to the latest incident ("when the alert fired")."""
    return bool(_INCIDENT_RE.search(text))


def unresolved_time(text: str, phrase: TimePhrase) -> None:
    """Raise TranslationError naming a time phrase left in `text` that no form above read ("since
    the deploy", "on March 3rd at noon", a second time phrase): never a silent "last 1h". Once a
    window was read, "during <something>" only describes it."""
    describes = phrase.time_range is not None
    found = (m for m in LEFTOVER_RE.finditer(text) if not (describes and _DESCRIBING_RE.match(m[0])))
    match = next(found, None)
    if match is not None:
        words = " ".join(match[0].split())
        raise TranslationError(f"I did not understand the time {words!r}. {ACCEPTED}")


def count_window(phrase: TimePhrase, time_range: str, now: datetime) -> str:
    """The duration a count over `time_range` spans: fixed for rolling ranges, measured at `now`
    for calendar ranges ending now."""
    if phrase.window is not None:
        return phrase.window
    try:
        span = parse_time_range(time_range, now=now, max_range=timedelta(days=400))
    except TimeRangeError as exc:
        raise TranslationError(f"cannot read the time range {time_range!r}: {exc}") from exc
    return format_window(60 * math.ceil(span.seconds / 60))


def format_window(seconds: float) -> str:
    """A duration as PromQL/LogQL text: "24h", "30m", "7d", "90m", "1h30m"."""
    total = int(seconds)
    if total >= 2 * 86400 and total % 86400 == 0:
        return f"{total // 86400}d"
    if total % 3600 == 0:
        return f"{total // 3600}h"
    if total % 60 == 0:
        hours, minutes = divmod(total // 60, 60)
        return f"{hours}h{minutes}m" if hours else f"{minutes}m"
    return f"{total}s"


def _rolling(text: str, now: datetime) -> Found | None:
    match = _ROLLING_RE.search(text)
    if match is None:
        return None
    amount = float(NUMBER_WORDS.get(match["n"], 0) or match["n"])
    unit = match["u"][0]
    if amount <= 0:
        return None
    duration = _as_written(amount, unit)
    return f"last {duration}", duration, match


def _as_written(amount: float, unit: str) -> str:
    """The duration in the user's unit when whole ("48h", "2d"); one day is "24h", weeks are days."""
    if unit == "w":
        amount, unit = amount * 7, "d"
    if amount.is_integer():
        whole = int(amount)
        return "24h" if (whole, unit) == (1, "d") else f"{whole}{unit}"
    return format_window(amount * _UNIT_SECONDS[unit])


def _one_unit(text: str, now: datetime) -> Found | None:
    """ "the last week" and "past week" are 7 days; "last week" and "last month" without "the" the
    calendar week (Monday to Monday) and month."""
    match = _ONE_UNIT_RE.search(text)
    if match is None:
        return None
    calendar = match["the"] is None and match["w"] in ("last", "previous")
    if calendar and match["u"] == "week":
        return "last week", None, match
    if calendar and match["u"] == "month":
        first = now.date().replace(day=1)
        previous = (first - timedelta(days=1)).replace(day=1)
        return f"between {previous.isoformat()} and {first.isoformat()}", None, match
    duration = {"minute": "1m", "hour": "1h", "day": "24h", "week": "7d", "month": "30d"}[match["u"]]
    return f"last {duration}", duration, match


def _between(text: str, now: datetime) -> Found | None:
    match = _BETWEEN_RE.search(text)
    if match is None:
        return None
    day = match["d1"] or match["d2"]
    first, second = (f"{day} {match[k]}" if day else match[k] for k in ("a", "b"))
    return f"between {first} and {second}", None, match


def _since(text: str, now: datetime) -> Found | None:
    match = _SINCE_RE.search(text)
    if match is None:
        return None
    start = " ".join(match["a"].split())
    return ("today", None, match) if start == "midnight" else (f"since {start}", None, match)


def _calendar(text: str, now: datetime) -> Found | None:
    """ "today", "yesterday", "this week" (since Monday 00:00), "this month" (since the 1st)."""
    match = _CALENDAR_RE.search(text)
    if match is None:
        return None
    if match["c"] == "week":
        return "this week", None, match
    if match["c"] == "month":
        return f"since {now.date().replace(day=1).isoformat()}", None, match
    return (match["w"], "24h" if match["w"] == "yesterday" else None, match)


def _bare(text: str, now: datetime) -> Found | None:
    """A bare duration: "cpu node-2 24h", "abc errors 6h"."""
    match = _BARE_RE.search(text)
    if match is None or int(match["n"]) <= 0:
        return None
    duration = _as_written(float(match["n"]), match["u"])
    return f"last {duration}", duration, match


FINDERS: tuple[Finder, ...] = (
    ago,
    fuzzy,
    _rolling,
    _bare,
    _one_unit,
    day_part,
    weekend,
    weekday,
    calendar_date,
    _between,
    _since,
    _calendar,
)


def _check(time_range: str, phrase: str, now: datetime) -> None:
    """A phrase read as a range that cannot be used (it starts in the future) is said, not run."""
    try:
        parse_time_range(time_range, now=now, max_range=timedelta(days=400))
    except TimeRangeError as exc:
        raise TranslationError(f"the time {phrase!r} (read as {time_range!r}) cannot be used: {exc}") from exc


def _blank(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]
