"""Time phrases in a question, rewritten as `parse_time_range` text and as a query window.

"in the last 24 hours" and "past day" become "last 24h", "last 30 minutes" "last 30m", "this week"
and "past week" "last 7d"; "today", "yesterday", "since 14:00" and "between 14:00 and 15:00" are
kept (calendar ranges). "during the incident" / "when the alert fired" set the time reference
"last_incident". Windows (`[24h]` in counts) are the rolling duration, 24h for yesterday, and for
calendar ranges ending now the range's length at `now`, rounded up to a minute.
"""

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiops_mcp.query.errors import TimeRangeError
from aiops_mcp.query.timerange import parse_time_range
from aiops_mcp.translate.model import TranslationError

LAST_INCIDENT = "last_incident"

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty-five": 45, "forty five": 45, "sixty": 60, "ninety": 90,
}  # fmt: skip
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_UNIT_WORDS = r"seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w"
_NUMBER = r"\d+(?:\.\d+)?|" + "|".join(sorted(map(re.escape, _NUMBERS), key=len, reverse=True))
_LEAD = r"(?:(?:in|over|during|for|within|from)\s+)?(?:the\s+)?"
_ROLLING_RE = re.compile(
    rf"\b{_LEAD}(?:last|past|previous|recent)\s+(?P<n>{_NUMBER})\s*(?P<u>{_UNIT_WORDS})\b"
)
_ONE_UNIT_RE = re.compile(rf"\b{_LEAD}(?:last|past|previous)\s+(?P<u>minute|hour|day|week|month)\b")
_CLOCK = r"\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2}"
_DAY = r"today|yesterday"
_BETWEEN_RE = re.compile(
    rf"\b(?:(?P<d1>{_DAY})\s+)?(?:between|from)\s+(?P<a>{_CLOCK})\s+(?:and|to|until)\s+(?P<b>{_CLOCK})"
    rf"(?:\s+(?P<d2>{_DAY}))?"
)
_SINCE_RE = re.compile(rf"\bsince\s+(?P<a>(?:(?:{_DAY})(?:\s+(?:at\s+)?(?:{_CLOCK}))?)|{_CLOCK}|midnight)")
_CALENDAR_RE = re.compile(r"\b(?:(?P<w>today|yesterday)|this\s+(?P<c>week|month))\b")
_INCIDENT_RE = re.compile(
    r"\b(?:during|in|throughout|at the time of|at)\s+(?:the|that|this)\s+(?:last\s+|latest\s+|recent\s+)?"
    r"(?:incident|outage)\b"
    r"|\b(?:when|while)\s+the\s+(?:last\s+|latest\s+)?alert\s+(?:fired|was firing|went off|triggered|"
    r"was triggered|started)\b"
)
_NOW_RE = re.compile(r"\b(?:now|right now|currently|current|at the moment|at present|presently)\b")
_RANGE_WORDS_RE = re.compile(r"\b(?:trend|trends|graph|chart|plot|over time|timeline|history|evolution)\b")


@dataclass(frozen=True)
class TimePhrase:
    """The question's time: `time_range` (None: not given), a fixed `window` when known without a
    clock, the `reference` ("last_incident"), and whether it asks for now or for a trend."""

    time_range: str | None = None
    window: str | None = None
    reference: str | None = None
    now: bool = False
    trend: bool = False


def find_time(text: str) -> tuple[TimePhrase, str]:
    """The time phrase of lower-cased `text`, and the text with the phrases blanked out."""
    reference = None
    if match := _INCIDENT_RE.search(text):
        reference, text = LAST_INCIDENT, _blank(text, match)
    time_range, window = None, None
    for finder in (_rolling, _one_unit, _between, _since, _calendar):
        found = finder(text)
        if found is not None:
            time_range, window, match = found
            text = _blank(text, match)
            break
    trend = bool(_RANGE_WORDS_RE.search(text))
    return TimePhrase(time_range, window, reference, bool(_NOW_RE.search(text)), trend), text


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


def _rolling(text: str) -> tuple[str, str, re.Match[str]] | None:
    match = _ROLLING_RE.search(text)
    if match is None:
        return None
    amount = float(_NUMBERS.get(match["n"], 0) or match["n"])
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


def _one_unit(text: str) -> tuple[str, str, re.Match[str]] | None:
    match = _ONE_UNIT_RE.search(text)
    if match is None:
        return None
    duration = {"minute": "1m", "hour": "1h", "day": "24h", "week": "7d", "month": "30d"}[match["u"]]
    return f"last {duration}", duration, match


def _between(text: str) -> tuple[str, str | None, re.Match[str]] | None:
    match = _BETWEEN_RE.search(text)
    if match is None:
        return None
    day = match["d1"] or match["d2"]
    first, second = (f"{day} {match[k]}" if day else match[k] for k in ("a", "b"))
    return f"between {first} and {second}", None, match


def _since(text: str) -> tuple[str, str | None, re.Match[str]] | None:
    match = _SINCE_RE.search(text)
    if match is None:
        return None
    start = " ".join(match["a"].split())
    return ("today", None, match) if start == "midnight" else (f"since {start}", None, match)


def _calendar(text: str) -> tuple[str, str | None, re.Match[str]] | None:
    match = _CALENDAR_RE.search(text)
    if match is None:
        return None
    if match["c"]:
        duration = "7d" if match["c"] == "week" else "30d"
        return f"last {duration}", duration, match
    return (match["w"], "24h" if match["w"] == "yesterday" else None, match)


def _blank(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]
