"""The generated log history: determinism, streams and levels, incident shapes, the ground-truth window."""

from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from aiops_mcp.demo.logs import LEVELS, NS, LogLine, build_logs, count_levels, level_of
from aiops_mcp.demo.world import World, build_world
from tests.doubles.loki import LokiDouble
from tests.doubles.loki.world import world_records

END = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
PROD = {"app": "abc-app", "env": "prod"}
CHECKOUT = {"service": "checkout", "namespace": "payments"}
STAGING = {"app": "abc-app", "env": "staging"}


@pytest.fixture(scope="module")
def world() -> World:
    """A world with a fixed end (shadows the session fixture) so these tests ignore the clock."""
    return build_world(END)


@pytest.fixture(scope="module")
def lines(world: World) -> list[LogLine]:
    return build_logs(world)


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * NS


def window(world: World, incident: str) -> tuple[int, int]:
    found = world.incident(incident)
    return ns(found.start), ns(found.end)


def test_same_seed_gives_the_same_lines_and_another_seed_does_not(world: World, lines: list[LogLine]) -> None:
    assert build_logs(world) == lines
    assert build_logs(world, seed=12) != lines


def test_lines_are_sorted_whole_seconds_inside_the_world(world: World, lines: list[LogLine]) -> None:
    stamps = [entry.ts_ns for entry in lines]
    assert stamps == sorted(stamps)
    assert all(t % NS == 0 for t in stamps)
    assert ns(world.start) <= stamps[0] and stamps[-1] <= ns(world.end)
    per_stream = Counter((tuple(sorted(entry.labels.items())), entry.ts_ns) for entry in lines)
    assert max(per_stream.values()) == 1


def test_volume_is_modest_and_levels_are_mostly_info(lines: list[LogLine]) -> None:
    assert 15_000 <= len(lines) <= 30_000
    levels = Counter(level_of(entry.line) for entry in lines)
    assert set(levels) == set(LEVELS)
    assert levels["info"] > 0.8 * len(lines)
    assert levels["error"] < 0.03 * len(lines)


def test_streams_carry_the_apps_labels_and_never_a_level(world: World, lines: list[LogLine]) -> None:
    expected = {
        tuple(sorted((app.selector | {"instance": instance}).items()))
        for app in world.apps.values()
        for instance in app.instances
    }
    assert {tuple(sorted(entry.labels.items())) for entry in lines} == expected
    assert all("level" not in entry.labels for entry in lines)
    assert all(entry.line.startswith(f"level={level_of(entry.line)} ") for entry in lines)


def test_errors_peak_in_the_burst_with_database_timeouts(world: World, lines: list[LogLine]) -> None:
    start, end = window(world, "abc-app-5xx-burst")
    during = count_levels(lines, PROD, start, end)
    timeouts = count_levels(lines, PROD, start, end, contains="database timeout")
    before = count_levels(lines, PROD, start - 6 * 3600 * NS, start)
    minutes = (end - start) // (60 * NS)
    assert during["error"] / minutes / 2 >= 6  # per instance per minute
    assert timeouts["error"] >= 0.9 * during["error"]
    assert during["warn"] >= 2 * minutes
    assert before["error"] / 360 < 0.1 * during["error"] / minutes
    assert count_levels(lines, PROD, 0, start, contains="database timeout").total() == 0


def test_abc_2_is_silent_while_down_and_abc_1_reports_it(world: World, lines: list[LogLine]) -> None:
    start, end = window(world, "abc-2-down")
    assert count_levels(lines, {"instance": "abc-2:8080"}, start, end).total() == 0
    assert count_levels(lines, {"instance": "abc-2:8080"}, end, end + 3600 * NS).total() > 0
    refused = count_levels(lines, {"instance": "abc-1:8080"}, start, end, contains="connection refused")
    assert refused["error"] >= 6
    assert count_levels(lines, PROD, 0, start, contains="connection refused").total() == 0


def test_checkout_warns_about_the_payment_gateway_in_its_window(world: World, lines: list[LogLine]) -> None:
    start, end = window(world, "checkout-latency")
    slow = count_levels(lines, CHECKOUT, start, end, contains="payment gateway slow")
    assert slow == Counter(warn=slow["warn"]) and slow["warn"] >= 40
    assert count_levels(lines, CHECKOUT, 0, start, contains="payment gateway slow").total() == 0
    assert count_levels(lines, CHECKOUT, end, ns(END), contains="payment gateway slow").total() == 0


def test_staging_has_database_timeouts_outside_the_burst(world: World, lines: list[LogLine]) -> None:
    start, end = window(world, "abc-app-5xx-burst")
    outside = count_levels(lines, STAGING, 0, start, contains="database timeout")
    outside += count_levels(lines, STAGING, end, ns(END), contains="database timeout")
    assert outside["error"] >= 3


def test_count_levels_window_is_left_open_right_closed() -> None:
    labels = {"app": "x"}
    lines = [LogLine(t * NS, labels, f"level={level} msg=m") for t, level in [(10, "info"), (20, "warn")]]
    assert count_levels(lines, labels, 10 * NS, 20 * NS) == Counter(warn=1)
    assert count_levels(lines, labels, 9 * NS, 19 * NS) == Counter(info=1)
    assert count_levels(lines, {"app": "y"}, 0, 30 * NS).total() == 0
    assert count_levels(lines, labels, 0, 30 * NS, contains="Msg").total() == 0


def test_the_loki_double_counts_what_count_levels_counts(world: World, lines: list[LogLine]) -> None:
    end = ns(END)
    burst_start, _ = window(world, "abc-app-5xx-burst")
    first_prod_after = next(
        e.ts_ns for e in lines if e.ts_ns > end - 3 * 3600 * NS and e.labels["env"] == "prod"
    )
    # The whole burst, and a window whose open start falls exactly on a line.
    windows = [(end - burst_start) // NS + 3600, (end - first_prod_after) // NS]
    with LokiDouble(world_records(world)) as loki:
        for seconds in windows:
            query = f'sum by (detected_level) (count_over_time({{app="abc-app",env="prod"}}[{seconds}s]))'
            response = httpx.get(f"{loki.url}/loki/api/v1/query", params={"query": query, "time": str(end)})
            response.raise_for_status()
            got = {
                r["metric"]["detected_level"]: int(r["value"][1]) for r in response.json()["data"]["result"]
            }
            assert got == dict(count_levels(lines, PROD, end - seconds * NS, end)), seconds
    assert count_levels(lines, PROD, first_prod_after - NS, end) != count_levels(
        lines, PROD, first_prod_after, end
    )
