from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.step import (
    MAX_POINTS_PER_SERIES,
    NICE_STEPS,
    align_range,
    auto_step,
    format_duration,
    parse_duration,
    points,
    validate_step,
)
from aiops_mcp.query.timerange import parse_time_range

HOUR = 3600.0
DAY = 86400.0


@pytest.mark.parametrize(
    ("range_seconds", "step"),
    [(HOUR, 15), (24 * HOUR, 300), (48 * HOUR, 600), (7 * DAY, 1800), (30 * DAY, 7200)],
)
def test_auto_step_picks_the_smallest_nice_step_within_500_points(range_seconds: float, step: float) -> None:
    assert auto_step(range_seconds) == step
    assert points(range_seconds, step) <= 500


def test_auto_step_respects_a_smaller_point_budget() -> None:
    assert auto_step(24 * HOUR, max_points=30) == HOUR
    assert points(24 * HOUR, HOUR) == 25


def test_auto_step_never_goes_below_min_step() -> None:
    assert auto_step(HOUR, min_step=60) == 60
    assert auto_step(HOUR, min_step=17) == 17


def test_auto_step_budget_is_capped_at_the_backend_limit() -> None:
    step = auto_step(30 * DAY, max_points=1_000_000)
    assert 30 * DAY / step <= MAX_POINTS_PER_SERIES
    assert step in NICE_STEPS


def test_auto_step_uses_whole_days_beyond_one_day() -> None:
    step = auto_step(10 * 365 * DAY)
    assert step % DAY == 0 and step > DAY
    assert points(10 * 365 * DAY, step) <= 500


def test_auto_step_refuses_empty_ranges_and_tiny_budgets() -> None:
    with pytest.raises(QueryInputError, match="positive"):
        auto_step(0)
    with pytest.raises(QueryInputError, match="at least 2"):
        auto_step(HOUR, max_points=1)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=1, max_value=400 * DAY, allow_nan=False),
    st.integers(min_value=2, max_value=20_000),
)
def test_auto_step_always_fits_the_budget_and_passes_validation(range_seconds: float, budget: int) -> None:
    step = auto_step(range_seconds, max_points=budget)
    assert points(range_seconds, step) <= min(budget, MAX_POINTS_PER_SERIES)
    validate_step(range_seconds, step)


def test_48_hours_at_15_seconds_exceeds_the_11000_point_limit_with_a_suggestion() -> None:
    with pytest.raises(QueryInputError) as caught:
        validate_step(48 * HOUR, 15)
    message = str(caught.value)
    assert "11,521 points per series" in message
    assert "maximum of 11,000" in message
    assert "at least 16s" in message and "'10m'" in message


def test_exactly_11000_intervals_are_accepted() -> None:
    validate_step(11_000 * 15, 15)
    with pytest.raises(QueryInputError):
        validate_step(11_000 * 15 + 1, 15)


@pytest.mark.parametrize("step", [0, -60, float("nan")])
def test_zero_negative_and_nan_steps_are_refused(step: float) -> None:
    with pytest.raises(QueryInputError, match="zero or negative steps are not accepted"):
        validate_step(HOUR, step)


def test_alignment_floors_both_ends_to_the_step_grid() -> None:
    assert align_range(1000.0, 4601.0, 300) == (900.0, 4500.0)
    assert align_range(900.0, 4500.0, 300) == (900.0, 4500.0)


def test_alignment_of_a_range_shorter_than_a_step_is_a_single_point() -> None:
    assert align_range(1010.0, 1020.0, 300) == (900.0, 900.0)


def test_two_last_24h_questions_a_minute_apart_send_the_same_range() -> None:
    first_now = datetime(2026, 11, 25, 10, 17, tzinfo=UTC)
    aligned = []
    for now in (first_now, first_now + timedelta(minutes=1)):
        window = parse_time_range("last 24h", now=now, max_range=timedelta(days=7))
        step = auto_step(window.seconds)
        aligned.append(align_range(window.start_ts, window.end_ts, step))
    assert aligned[0] == aligned[1]
    assert aligned[0][1] == datetime(2026, 11, 25, 10, 15, tzinfo=UTC).timestamp()


def test_alignment_refuses_a_non_positive_step() -> None:
    with pytest.raises(QueryInputError):
        align_range(0, 100, 0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300),
        ("1h30m", 5400),
        ("500ms", 0.5),
        ("1m30s500ms", 90.5),
        ("2d", 172800),
        ("1w", 604800),
        ("1y", 365 * DAY),
        ("30", 30),
        ("1.5", 1.5),
        (" 15s ", 15),
        ("0s", 0),
    ],
)
def test_parse_duration_reads_promql_durations_and_bare_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5M", "1.5h", "-5m", "30m1h", "1h1h", "m", "5 minutes", "9" * 50])
def test_parse_duration_refuses_other_text_with_examples(text: str) -> None:
    with pytest.raises(QueryInputError, match="'1h30m'"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (300, "5m"),
        (5400, "1h30m"),
        (604800, "1w"),
        (0.5, "500ms"),
        (0, "0s"),
        (90061, "1d1h1m1s"),
        (DAY, "1d"),
    ],
)
def test_format_duration_writes_largest_units_first(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_duration_refuses_negative_values() -> None:
    with pytest.raises(QueryInputError):
        format_duration(-1)


@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_round_trips_milliseconds(milliseconds: int) -> None:
    assert parse_duration(format_duration(milliseconds / 1000)) == pytest.approx(milliseconds / 1000)
