"""Time phrases resolved against a clock: parts of days, weekdays, weekends, dates, "N hours ago".

Every result is `parse_time_range` text, in UTC:
- "this morning" / "yesterday afternoon" / "monday evening": that day's 06:00-12:00, 12:00-18:00
  or 18:00-24:00; "last night" (or "yesterday night") yesterday 18:00 to today 06:00; "tonight"
  since today 18:00. A part still running ends now ("since today 06:00").
- "on monday", "monday", "last monday": the most recent day of that name (today included, except
  after "last"), as "today", "yesterday" or its date.
- "the weekend", "over the weekend": the weekend in progress, else the last one; "last weekend":
  the last completed one (Saturday 00:00 to Monday 00:00).
- "March 3rd", "3 march", "on March 3, 2026", "2026-03-03": that whole day (without a year, its
  most recent occurrence).
- "3 hours ago": the hour up to that moment (instant queries read the moment itself), "10 minutes
  ago" the 15 minutes up to it, "2 days ago" / "a week ago" that whole day; "since 3 hours ago"
  and "from 3 hours ago" until now.
- "the last couple of hours" is 2 hours, "the last few days" 3 days.
A phrase naming a time still to come raises TranslationError.
"""

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from aiops_mcp.query.step import format_duration
from aiops_mcp.translate.model import TranslationError

Found = tuple[str, str | None, re.Match[str]]
Finder = Callable[[str, datetime], Found | None]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty-five": 45, "forty five": 45, "sixty": 60, "ninety": 90,
}  # fmt: skip
FUZZY = {"couple": 2, "couple of": 2, "few": 3}
NUMBER = r"\d+(?:\.\d+)?|" + "|".join(sorted(map(re.escape, NUMBER_WORDS), key=len, reverse=True))
PARTS = {"morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24), "night": (18, 30)}

_WEEKDAY = "|".join(WEEKDAYS)
_MONTH = "|".join(m for name in MONTHS for m in ((name, name[:3]) if name != "may" else (name,)))
_AGO_RE = re.compile(
    rf"\b(?:(?P<since>since|from)\s+)?(?:(?P<fuzzy>a\s+couple\s+of|a\s+few|couple\s+of|few)|(?P<n>{NUMBER}))"
    r"\s*(?P<u>minutes?|mins?|hours?|hrs?|h|m|days?|d|weeks?|w)\s+ago\b"
)
_FUZZY_RE = re.compile(
    r"\b(?:(?:in|over|during|for|within)\s+)?(?:the\s+)?(?:last|past|previous)\s+(?:a\s+)?"
    r"(?P<q>couple of|couple|few)\s+(?P<u>minutes|hours|days|weeks)\b"
)
_PART_RE = re.compile(
    rf"\b(?:(?:in|on|during|over)\s+)?(?:the\s+)?(?:(?P<day>this|today|yesterday|{_WEEKDAY})\s+"
    rf"(?P<part>morning|afternoon|evening|night)|(?P<last>last|yesterday)\s+night|(?P<tonight>tonight))\b"
)
_WEEKDAY_RE = re.compile(rf"\b(?:(?P<rel>on|last|this|past)\s+)?(?P<wd>{_WEEKDAY})\b")
_WEEKEND_RE = re.compile(
    r"\b(?:(?:over|during|on|at|for|in)\s+)?(?:the\s+)?(?P<rel>last|this|past|previous)?\s*weekend\b"
)
_DATE_RE = re.compile(
    rf"\b(?:on\s+)?(?:the\s+)?(?:(?P<m1>{_MONTH})\.?\s+(?:the\s+)?(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTH})\b\.?)(?:,?\s+(?P<y>\d{{4}}))?\b"
    r"|\b(?:on\s+)?(?P<iso>\d{4}-\d{2}-\d{2})\b"
)


def ago(text: str, now: datetime) -> Found | None:
    match = _AGO_RE.search(text)
    if match is None:
        return None
    if match["fuzzy"]:
        amount = 2.0 if "couple" in match["fuzzy"] else 3.0
    else:
        amount = float(NUMBER_WORDS.get(match["n"], 0) or match["n"])
    unit = match["u"][0]
    if amount <= 0:
        return None
    seconds = amount * {"m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    back = format_duration(seconds)
    if match["since"]:
        return f"since {back} ago", None, match
    if unit in "dw":
        return _day_label(now.date() - timedelta(seconds=seconds), now), None, match
    width = 3600 if unit == "h" else 900
    return f"between now-{format_duration(seconds + width)} and now-{back}", None, match


def fuzzy(text: str, now: datetime) -> Found | None:
    match = _FUZZY_RE.search(text)
    if match is None:
        return None
    amount = FUZZY[match["q"]]
    duration = f"{amount * 7}d" if match["u"] == "weeks" else f"{amount}{match['u'][0]}"
    return f"last {duration}", duration, match


def day_part(text: str, now: datetime) -> Found | None:
    match = _PART_RE.search(text)
    if match is None:
        return None
    if match["tonight"]:
        day, part = now.date(), "evening"
    elif match["last"]:
        day, part = now.date() - timedelta(days=1), "night"
    else:
        day, part = _named_day(match["day"], now, exclude_today=False), match["part"]
    start_hour, end_hour = PARTS[part]
    start = datetime.combine(day, datetime.min.time(), now.tzinfo) + timedelta(hours=start_hour)
    end = start + timedelta(hours=end_hour - start_hour)
    if start > now:
        raise TranslationError(f"{' '.join(match[0].split())!r} has not begun: it is {now:%H:%M} UTC now")
    if end >= now:
        return f"since {_moment_label(start, now)}", None, match
    return f"between {_moment_label(start, now)} and {_moment_label(end, now)}", None, match


def weekday(text: str, now: datetime) -> Found | None:
    match = _WEEKDAY_RE.search(text)
    if match is None:
        return None
    day = _named_day(match["wd"], now, exclude_today=match["rel"] in ("last", "past"))
    return _day_label(day, now), None, match


def weekend(text: str, now: datetime) -> Found | None:
    match = _WEEKEND_RE.search(text)
    if match is None:
        return None
    today, weekday_now = now.date(), now.weekday()
    in_weekend = weekday_now >= 5
    saturday = today - timedelta(days=(weekday_now - 5) % 7)
    if in_weekend and match["rel"] in ("last", "past", "previous"):
        saturday -= timedelta(days=7)
    elif in_weekend:
        return f"since {_day_label(saturday, now)}", None, match
    monday = saturday + timedelta(days=2)
    return f"between {_day_label(saturday, now)} and {_day_label(monday, now)}", None, match


def calendar_date(text: str, now: datetime) -> Found | None:
    match = _DATE_RE.search(text)
    if match is None:
        return None
    if match["iso"]:
        return match["iso"], None, match
    month_word, day_text = (match["m1"], match["d1"]) if match["m1"] else (match["m2"], match["d2"])
    month = next(i for i, name in enumerate(MONTHS, 1) if name.startswith(month_word))
    try:
        if match["y"]:
            day = date(int(match["y"]), month, int(day_text))
        else:
            day = date(now.year, month, int(day_text))
            if day > now.date():
                day = date(now.year - 1, month, int(day_text))
    except ValueError:
        raise TranslationError(f"{' '.join(match[0].split())!r} is not a date") from None
    return _day_label(day, now), None, match


def _named_day(word: str, now: datetime, *, exclude_today: bool) -> date:
    """The date "this"/"today"/"yesterday"/a weekday name means: its most recent occurrence."""
    today = now.date()
    if word in ("this", "today"):
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    back = (now.weekday() - WEEKDAYS.index(word)) % 7
    return today - timedelta(days=back or (7 if exclude_today else 0))


def _day_label(day: date, now: datetime) -> str:
    back = (now.date() - day).days
    return {0: "today", 1: "yesterday"}.get(back, day.isoformat())


def _moment_label(moment: datetime, now: datetime) -> str:
    return f"{_day_label(moment.date(), now)} {moment:%H:%M}"


# --- what is left ---------------------------------------------------------------------------------

_UNIT = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|years?|yrs?|quarters?)"
_QUANTITY = (
    r"\d+(?:\.\d+)?|couple|few|several|many|some|this|next|last|past|previous|recent|coming|these|those|"
    + "|".join(w for w in NUMBER_WORDS if w not in ("a", "an"))
)
LEFTOVER_RE = re.compile(
    "|".join(
        (
            r"\b(?:since|until|till|before|after|during|throughout)\s+(?:the\s+|a\s+|an\s+|last\s+|this\s+|our\s+)?[\w'-]+",
            rf"\b(?:on\s+|last\s+|this\s+|next\s+|every\s+)?(?:{_WEEKDAY})s?\b",
            r"(?:\b[\w'-]+\s+)?\b(?:morning|afternoon|evening|night|tonight|overnight|weekend|midnight|noon|"
            r"tomorrow|today|yesterday)s?\b",
            r"(?:\b[\w'.-]+\s+){0,2}ago\b",
            r"\b(?:at\s+|around\s+|by\s+)?\d{1,2}(?::\d{2})?\s*(?:am|pm|o'clock)\b",
            r"\b(?:at\s+|around\s+)?\d{1,2}:\d{2}\b",
            r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
            r"\b(?:in\s+|last\s+|this\s+)?(?:january|february|april|june|july|august|september|october|"
            r"november|december)\b",
            rf"\b(?:{_MONTH})\s+\d{{1,2}}\b",
            rf"\b(?:{_QUANTITY})\s+(?:of\s+)?{_UNIT}\b",
        )
    )
)
ACCEPTED = (
    "Say it e.g. as 'last 2 hours', 'the last couple of hours', 'today', 'yesterday', 'this morning', "
    "'yesterday afternoon', 'last night', '3 hours ago', 'since 3 hours ago', 'on monday', 'last weekend', "
    "'March 3rd', '2026-03-03', 'since 14:00', 'between 14:00 and 15:00', 'this week', 'last week' or "
    "'during the incident' (times in UTC)."
)
