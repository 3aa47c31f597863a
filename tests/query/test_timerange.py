from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_mcp.query.errors import TimeRangeError
from aiops_mcp.query.timerange import TimeRange, parse_instant, parse_time_range

NOW = datetime(2026, 11, 25, 10, 17, tzinfo=UTC)  # a Wednesday
WEEK = timedelta(hours=168)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def rng(
    text: str | None = None,
    *,
    now: datetime = NOW,
    max_range: timedelta = WEEK,
    start: str | None = None,
    end: str | None = None,
    default: str = "last 1h",
    tz: str | None = None,
) -> TimeRange:
    return parse_time_range(text, start=start, end=end, now=now, max_range=max_range, default=default, tz=tz)


def bounds(
    text: str | None = None,
    *,
    start: str | None = None,
    end: str | None = None,
    default: str = "last 1h",
    tz: str | None = None,
) -> tuple[datetime, datetime]:
    found = rng(text, start=start, end=end, default=default, tz=tz)
    return found.start, found.end


def refused(
    text: str | None = None, *, max_range: timedelta = WEEK, start: str | None = None, tz: str | None = None
) -> str:
    with pytest.raises(TimeRangeError) as caught:
        rng(text, max_range=max_range, start=start, tz=tz)
    return str(caught.value)


# --- rolling ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "last 24 hours",
        "last 24h",
        "past 24 hours",
        "24h",
        "1d",
        "last 1 day",
        "in the last 24 hours",
        "LAST 24H",
    ],
)
def test_rolling_day_forms_end_now_and_last_24_hours(text: str) -> None:
    assert bounds(text) == (utc(2026, 11, 24, 10, 17), NOW)


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("last 30m", 0.5),
        ("90m", 1.5),
        ("past 2 days", 48),
        ("1w", 168),
        ("last 1h30m", 1.5),
        ("last 1 hour 30 minutes", 1.5),
        ("last 1.5 hours", 1.5),
        ("last hour", 1),
        ("the past day", 24),
        ("previous 45 mins", 0.75),
        ("last 3600s", 1),
    ],
)
def test_rolling_durations_in_any_unit_spelling(text: str, hours: float) -> None:
    found = rng(text)
    assert found.end == NOW
    assert found.seconds == hours * 3600


def test_description_names_the_text_and_the_exact_utc_bounds() -> None:
    assert rng("last 24h").description == "last 24h (2026-11-24 10:17 to 2026-11-25 10:17 UTC)"


def test_seconds_and_unix_timestamps_match_the_bounds() -> None:
    found = rng("last 1h")
    assert found.seconds == 3600
    assert found.end_ts == NOW.timestamp()
    assert found.start_ts == NOW.timestamp() - 3600


def test_now_is_truncated_to_whole_seconds() -> None:
    found = rng("last 1h", now=NOW.replace(second=5, microsecond=999_999))
    start, end = found.start, found.end
    assert end == NOW.replace(second=5)
    assert start == end - timedelta(hours=1)


def test_default_is_used_when_nothing_is_given() -> None:
    assert bounds() == (utc(2026, 11, 25, 9, 17), NOW)
    assert bounds("   ") == (utc(2026, 11, 25, 9, 17), NOW)
    assert bounds(None, default="last 6h") == (utc(2026, 11, 25, 4, 17), NOW)


# --- calendar words ---------------------------------------------------------------------------------


def test_yesterday_is_the_previous_utc_calendar_day() -> None:
    found = rng("yesterday")
    assert (found.start, found.end) == (utc(2026, 11, 24), utc(2026, 11, 25))
    assert found.description == "yesterday (2026-11-24 00:00 to 2026-11-25 00:00 UTC)"


def test_today_runs_from_midnight_to_now() -> None:
    assert bounds("today") == (utc(2026, 11, 25), NOW)


def test_this_week_starts_on_monday() -> None:
    assert bounds("this week") == (utc(2026, 11, 23), NOW)


def test_last_week_is_the_previous_monday_to_monday_calendar_week() -> None:
    assert bounds("last week") == (utc(2026, 11, 16), utc(2026, 11, 23))
    assert bounds("previous week") == (utc(2026, 11, 16), utc(2026, 11, 23))


@pytest.mark.parametrize("text", ["past week", "the last week", "in the last week", "last 7 days", "last 1w"])
def test_past_week_and_the_last_week_are_the_last_seven_days(text: str) -> None:
    assert bounds(text) == (utc(2026, 11, 18, 10, 17), NOW)


def test_a_date_alone_is_that_whole_day() -> None:
    assert bounds("2026-11-23") == (utc(2026, 11, 23), utc(2026, 11, 24))


def test_todays_date_alone_ends_now() -> None:
    assert bounds("2026-11-25") == (utc(2026, 11, 25), NOW)


# --- time zones ---------------------------------------------------------------------------------------


def test_a_trailing_zone_moves_calendar_days_to_local_midnight() -> None:
    found = rng("yesterday Europe/Paris")
    assert (found.start, found.end) == (utc(2026, 11, 23, 23), utc(2026, 11, 24, 23))
    assert found.description.startswith("yesterday in Europe/Paris (2026-11-23 23:00 to")


def test_zone_names_are_case_insensitive_and_may_follow_in() -> None:
    assert bounds("yesterday in america/new_york") == (utc(2026, 11, 24, 5), utc(2026, 11, 25, 5))


def test_the_tz_argument_sets_the_zone_and_the_text_wins_over_it() -> None:
    assert bounds("yesterday", tz="Asia/Tokyo") == (utc(2026, 11, 23, 15), utc(2026, 11, 24, 15))
    assert bounds("yesterday UTC", tz="Asia/Tokyo") == (utc(2026, 11, 24), utc(2026, 11, 25))


def test_yesterday_in_paris_is_23_hours_on_the_spring_dst_change() -> None:
    found = rng("yesterday Europe/Paris", now=utc(2026, 3, 30, 10))
    assert (found.start, found.end) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert found.seconds == 23 * 3600


def test_yesterday_in_paris_is_25_hours_on_the_autumn_dst_change() -> None:
    found = rng("yesterday Europe/Paris", now=utc(2026, 10, 26, 10))
    assert (found.start, found.end) == (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))
    assert found.seconds == 25 * 3600


def test_rolling_ranges_ignore_the_zone() -> None:
    assert bounds("last 24h Europe/Paris") == bounds("last 24h")


def test_naive_times_are_read_in_the_zone() -> None:
    assert bounds("since 2026-11-25 08:00 Europe/Paris")[0] == utc(2026, 11, 25, 7)


def test_unknown_tz_argument_is_refused_with_an_example() -> None:
    assert "Europe/Paris" in refused("yesterday", tz="Mars/Olympus")


# --- since / between ------------------------------------------------------------------------------


def test_since_a_time_today_that_has_passed_starts_today() -> None:
    found = rng("since 09:00")
    assert (found.start, found.end) == (utc(2026, 11, 25, 9), NOW)
    assert "yesterday" not in found.description


def test_since_a_time_still_ahead_today_means_yesterday_and_says_so() -> None:
    found = rng("since 14:00")
    assert (found.start, found.end) == (utc(2026, 11, 24, 14), NOW)
    assert "14:00 today is still ahead, so 14:00 yesterday" in found.description


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("since yesterday 14:00", utc(2026, 11, 24, 14)),
        ("since yesterday at 2pm", utc(2026, 11, 24, 14)),
        ("since 2:30pm yesterday", utc(2026, 11, 24, 14, 30)),
        ("since today 08:15", utc(2026, 11, 25, 8, 15)),
        ("since 12am", utc(2026, 11, 25)),
        ("since yesterday", utc(2026, 11, 24)),
        ("since 2h ago", utc(2026, 11, 25, 8, 17)),
        ("since 90 minutes ago", utc(2026, 11, 25, 8, 47)),
        ("since now-6h", utc(2026, 11, 25, 4, 17)),
        ("from now - 2 hours", utc(2026, 11, 25, 8, 17)),
        ("since 2026-11-24T14:30:00Z", utc(2026, 11, 24, 14, 30)),
        ("since 2026-11-24T15:30:00+01:00", utc(2026, 11, 24, 14, 30)),
        ("since 2026-11-24 14:30", utc(2026, 11, 24, 14, 30)),
        ("since 1795530600", utc(2026, 11, 24, 14, 30)),
        ("now-24h", utc(2026, 11, 24, 10, 17)),
        ("-2h", utc(2026, 11, 25, 8, 17)),
        ("2h ago", utc(2026, 11, 25, 8, 17)),
    ],
)
def test_since_forms_run_until_now(text: str, start: datetime) -> None:
    assert bounds(text) == (start, NOW)


def test_between_two_past_times_of_day_is_yesterdays_window_when_today_is_ahead() -> None:
    found = rng("between 14:00 and 15:00")
    assert (found.start, found.end) == (utc(2026, 11, 24, 14), utc(2026, 11, 24, 15))
    assert "yesterday" in found.description


def test_between_with_an_end_later_today_is_clamped_to_now_and_says_so() -> None:
    found = rng("between 09:00 and 11:00")
    assert (found.start, found.end) == (utc(2026, 11, 25, 9), NOW)
    assert "clamped to now" in found.description


def test_an_end_time_of_day_earlier_than_the_start_crosses_midnight() -> None:
    assert bounds("between 23:00 and 01:00") == (utc(2026, 11, 24, 23), utc(2026, 11, 25, 1))


def test_an_end_time_of_day_follows_a_dated_start() -> None:
    assert bounds("between yesterday 14:00 and 15:30") == (utc(2026, 11, 24, 14), utc(2026, 11, 24, 15, 30))


@pytest.mark.parametrize(
    "text",
    [
        "from 2026-11-24T14:00:00Z to 2026-11-24T15:00:00Z",
        "from 2026-11-24 14:00 until 2026-11-24 15:00",
        "2026-11-24 14:00 to 2026-11-24 15:00",
        "between 1795528800 and 1795532400",
        "from 1795528800000 to 1795532400000",
        "between 1795528800000000000 and 1795532400000000000",
        "between 2pm and 3pm yesterday",
    ],
)
def test_from_to_forms_give_the_exact_window(text: str) -> None:
    assert bounds(text) == (utc(2026, 11, 24, 14), utc(2026, 11, 24, 15))


def test_dates_as_endpoints_mean_their_midnight() -> None:
    assert bounds("from 2026-11-22 to 2026-11-24") == (utc(2026, 11, 22), utc(2026, 11, 24))


def test_fractional_rfc3339_seconds_are_kept() -> None:
    start, _ = bounds("since 2026-11-25T10:00:00.123456789Z")
    assert start == datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)


# --- explicit start and end ----------------------------------------------------------------------------


def test_explicit_start_and_end_accept_rfc3339_and_relative_times() -> None:
    found = rng(start="2026-11-24T14:30:00Z", end="now-1h")
    assert (found.start, found.end) == (utc(2026, 11, 24, 14, 30), utc(2026, 11, 25, 9, 17))
    assert found.description.startswith("from 2026-11-24T14:30:00Z to now-1h (")


def test_only_a_start_runs_until_now() -> None:
    assert bounds(start="yesterday 14:00") == (utc(2026, 11, 24, 14), NOW)
    assert bounds(None, start="1795530600", end="") == (utc(2026, 11, 24, 14, 30), NOW)


def test_only_an_end_takes_the_length_of_the_default() -> None:
    assert bounds(end="2026-11-25T09:00:00Z") == (utc(2026, 11, 25, 8), utc(2026, 11, 25, 9))
    assert bounds(end="2026-11-25T09:00:00Z", default="last 6h")[0] == utc(2026, 11, 25, 3)


def test_an_end_time_of_day_follows_an_explicit_start() -> None:
    assert bounds(start="yesterday 22:00", end="02:00") == (utc(2026, 11, 24, 22), utc(2026, 11, 25, 2))


def test_text_and_start_together_are_refused() -> None:
    assert "not both" in refused("last 6h", start="now-2h")


def test_text_equal_to_the_default_gives_way_to_start_and_end() -> None:
    assert bounds("last 1h", start="now-2h") == (utc(2026, 11, 25, 8, 17), NOW)


def test_an_unreadable_start_names_the_argument_and_the_accepted_times() -> None:
    message = refused(start="1h")
    assert "start time '1h'" in message and "now-1h" in message


# --- refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["foo", "last fortnight", "the whole thing", "24 horas", "Europe/Paris"])
def test_unknown_text_is_refused_listing_accepted_forms(text: str) -> None:
    message = refused(text)
    assert repr(text) in message
    assert "last 24h" in message and "yesterday" in message and "RFC 3339" in message


def test_an_unknown_time_inside_a_range_is_quoted_with_the_accepted_times() -> None:
    message = refused("since tuesday")
    assert "'tuesday'" in message and "Accepted times" in message
    assert "'next week'" in refused("between 14:00 and next week")


def test_a_range_over_the_limit_names_the_limit_and_the_setting() -> None:
    assert refused("last 240h") == (
        "range of 240h exceeds the limit of 168h (MAX_QUERY_RANGE_HOURS): "
        "ask for a shorter range, e.g. 'last 168h'"
    )


def test_a_range_exactly_at_the_limit_is_accepted() -> None:
    assert rng("last 7d").seconds == WEEK.total_seconds()
    assert "exceeds the limit of 24h" in refused("last 25h", max_range=timedelta(hours=24))


def test_a_start_in_the_future_is_refused_with_now() -> None:
    message = refused("2026-12-01")
    assert "in the future" in message and "2026-11-25 10:17" in message
    assert "in the future" in refused("since today 14:00")


def test_reversed_and_empty_ranges_are_refused() -> None:
    assert "not before end" in refused("from now-1h to now-2h")
    assert "its 00:00" in refused("from 2026-11-24 to 2026-11-24")
    assert "positive" in refused("last 0h")


def test_an_end_slightly_in_the_future_is_clamped_without_a_note() -> None:
    found = rng(start="now-1h", end="now+30s")
    assert found.end == NOW
    assert "clamped" not in found.description


@pytest.mark.parametrize("text", ["last 2 months", "last 1y", "past 3 years", "last 1mo"])
def test_months_and_years_are_refused_with_a_days_suggestion(text: str) -> None:
    assert "last 30d" in refused(text)


def test_upper_case_m_is_refused_as_ambiguous() -> None:
    assert "ambiguous" in refused("last 5M")


@pytest.mark.parametrize("text", ["14:00", "yesterday 14:00", "2026-11-24T14:00:00Z", "now"])
def test_a_single_time_is_not_a_range_and_the_error_suggests_since(text: str) -> None:
    message = refused(text)
    assert f"since {text}" in message


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("since 25:00", "00:00 to 23:59:59"),
        ("since 13pm", "1-12 with am/pm"),
        ("since 2026-13-01", "month must be in 1..12"),
        ("since 24", "unix timestamp"),
        ("last 99999999999999999999 weeks", "too long"),
        ("since 99999999999999999999999", "too large"),
        ("since 2026-11-24T14:00:00+25:00", "offset"),
    ],
)
def test_impossible_times_are_refused_saying_why(text: str, hint: str) -> None:
    assert hint in refused(text)


# --- parse_instant -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, NOW),
        ("", NOW),
        ("now", NOW),
        ("now-5m", utc(2026, 11, 25, 10, 12)),
        ("5 minutes ago", utc(2026, 11, 25, 10, 12)),
        ("2026-11-24T14:30:00Z", utc(2026, 11, 24, 14, 30)),
        ("2026-11-24T15:30:00+01:00", utc(2026, 11, 24, 14, 30)),
        ("2026-11-24 14:30", utc(2026, 11, 24, 14, 30)),
        ("2026-11-24", utc(2026, 11, 24)),
        ("1795530600", utc(2026, 11, 24, 14, 30)),
        ("1795530600.5", datetime(2026, 11, 24, 14, 30, 0, 500000, tzinfo=UTC)),
        ("1795530600000", utc(2026, 11, 24, 14, 30)),
        ("yesterday 14:30", utc(2026, 11, 24, 14, 30)),
        ("14:30", utc(2026, 11, 24, 14, 30)),
        ("09:30", utc(2026, 11, 25, 9, 30)),
        ("yesterday 14:30 Europe/Paris", utc(2026, 11, 24, 13, 30)),
        ("now+30s", NOW),
    ],
)
def test_instants_in_every_accepted_form(text: str | None, expected: datetime) -> None:
    assert parse_instant(text, now=NOW) == expected


def test_instant_zone_argument_applies_to_naive_times() -> None:
    assert parse_instant("2026-11-24 14:30", now=NOW, tz="Europe/Paris") == utc(2026, 11, 24, 13, 30)


def test_instants_in_the_future_are_refused() -> None:
    with pytest.raises(TimeRangeError, match="in the future"):
        parse_instant("now+1h", now=NOW)


def test_unreadable_instants_list_the_accepted_times() -> None:
    with pytest.raises(TimeRangeError, match="Accepted times: 'now', 'now-1h'"):
        parse_instant("next tuesday", now=NOW)


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_time_range("last 1h", now=datetime(2026, 11, 25), max_range=WEEK)


# --- properties ---------------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "last", "past", "since", "between", "and", "from", "to", "until", "the", "in", "ago", "now",
        "today", "yesterday", "week", "this", "24h", "1d", "90m", "2 hours", "1h30m", "-2h", "now-6h",
        "14:00", "2pm", "12am", "2026-11-24", "2026-11-24T14:30:00Z", "2026-11-25 09:00", "1795530600",
        "1795530600000", "Europe/Paris", "UTC", "5M", "months", "0", "-", "+", ":", "99999999999999",
    ]
)  # fmt: skip


def _valid_or_time_range_error(text: str) -> None:
    try:
        found = parse_time_range(text, now=NOW, max_range=WEEK)
    except TimeRangeError as exc:
        assert str(exc)
        return
    assert found.start.tzinfo is not None and found.end.tzinfo is not None
    assert found.start < found.end <= NOW
    assert found.end - found.start <= WEEK
    assert found.description


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_random_text_gives_a_valid_range_or_a_time_range_error(text: str) -> None:
    _valid_or_time_range_error(text)


@settings(max_examples=600, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=6).map(" ".join))
def test_random_phrases_give_a_valid_range_or_a_time_range_error(text: str) -> None:
    _valid_or_time_range_error(text)
