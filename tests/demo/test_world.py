"""The generated world: determinism, realistic counters, incident placement, ground truth, OpenMetrics."""

import itertools
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aiops_mcp.demo.world import LE_LABELS, World, build_world, family_of, histogram_quantile

END = datetime(2025, 3, 10, 12, 34, tzinfo=UTC)
ABC = {"app": "abc-app", "env": "prod"}
COUNTER_SUFFIXES = ("_total", "_bucket", "_sum", "_count")


@pytest.fixture(scope="module")
def world() -> World:
    """A world with a fixed end (shadows the session fixture) so these tests ignore the clock."""
    return build_world(END)


def at(world: World, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return world.yesterday_at(hour, minute) + timedelta(seconds=second)


def only(world: World, name: str, selector: dict[str, str]) -> tuple[list[int], list[float]]:
    [series] = world.select(name, selector)
    return list(series.timestamps), list(series.values)


def test_same_seed_gives_the_same_samples_and_another_seed_does_not(world: World) -> None:
    again = build_world(END)
    other = build_world(END, seed=8)
    assert list(again.series()) == list(world.series())
    assert [s.values for s in other.series()] != [s.values for s in world.series()]


def samples_by_yesterday(world: World) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(name, labels) -> (seconds after yesterday 00:00, value) of the samples from the day before."""
    day0, since = world.yesterday_at(0).timestamp(), world.yesterday_at(-24).timestamp()
    return {
        (s.name, repr(sorted(s.labels.items()))): [
            (t - day0, v) for t, v in zip(s.timestamps, s.values, strict=True) if t >= since
        ]
        for s in world.series()
    }


def test_the_samples_do_not_depend_on_the_minute_or_day_the_world_ends(world: World) -> None:
    # Worlds ending at another minute of the same day, or on another day, hold the same samples
    # from the day before yesterday on (relative to yesterday): incidents and baselines never move.
    reference = samples_by_yesterday(world)
    for end in (END.replace(hour=0, minute=0), END.replace(hour=23, minute=59) + timedelta(days=40)):
        other = samples_by_yesterday(build_world(end))
        assert other.keys() == reference.keys()
        for key, samples in reference.items():
            shared = min(len(samples), len(other[key]))
            assert other[key][:shared] == samples[:shared], (end, key)
            assert shared >= len(samples) - 24 * 3600 // 15  # at most the end day differs in length


def test_samples_run_every_interval_up_to_end(world: World) -> None:
    timestamps, _ = only(world, "up", ABC | {"instance": "abc-1:8080"})
    assert timestamps[-1] == END.timestamp() == world.end.timestamp()
    assert timestamps[0] == world.start.timestamp()
    assert len(timestamps) == 72 * 3600 // 15
    assert {b - a for a, b in itertools.pairwise(timestamps)} == {15}


def test_world_is_big_enough_for_benchmarks_but_cheap_to_backfill(world: World) -> None:
    assert len(list(world.series())) >= 40
    assert len(world.select("http_requests_total")) >= 16
    assert 750_000 <= world.sample_count <= 1_200_000


def test_counters_never_decrease(world: World) -> None:
    for series in world.series():
        if series.name.endswith(COUNTER_SUFFIXES):
            assert all(b >= a for a, b in itertools.pairwise(series.values)), series.labels


def test_histogram_buckets_are_cumulative_and_inf_equals_count(world: World) -> None:
    labels = ABC | {"instance": "abc-1:8080"}
    buckets = [
        only(world, "http_request_duration_seconds_bucket", labels | {"le": le})[1] for le in LE_LABELS
    ]
    _, count = only(world, "http_request_duration_seconds_count", labels)
    for column in zip(*buckets, strict=True):
        assert list(column) == sorted(column)
    assert buckets[-1] == count


def test_incidents_happen_yesterday_at_fixed_times(world: World) -> None:
    times = {i.name: (i.start, i.end) for i in world.incidents}
    assert world.yesterday == datetime(2025, 3, 9).date()
    assert times["abc-app-5xx-burst"] == (at(world, 14, 30), at(world, 14, 45))
    assert (
        times["abc-app-latency"]
        == times["node-1-cpu"]
        == times["node-1-memory"]
        == times["abc-app-5xx-burst"]
    )
    assert times["abc-2-down"] == (at(world, 3, 10), at(world, 3, 16))
    assert times["checkout-latency"] == (at(world, 9), at(world, 9, 20))


def test_outage_is_up_zero_and_missing_samples_for_six_minutes(world: World) -> None:
    down = ABC | {"instance": "abc-2:8080"}
    start, end = at(world, 3, 10).timestamp(), at(world, 3, 16).timestamp()
    timestamps, values = only(world, "up", down)
    zeros = [t for t, v in zip(timestamps, values, strict=True) if v == 0]
    assert zeros == list(range(int(start) + 15, int(end) + 15, 15))
    for series in world.series("http_requests_total", down):
        assert not [t for t in series.timestamps if start < t <= end]
    restarts = world.expected_increase(
        "kube_pod_container_status_restarts_total",
        at(world, 3),
        at(world, 4),
        {"pod": "abc-2"},
        extrapolate=False,
    )
    assert restarts == 3


def test_uptime_is_the_share_of_up_samples(world: World) -> None:
    day = (at(world, 0), at(world, 24))
    lo, hi = day[0].timestamp(), day[1].timestamp()
    samples = [
        v
        for s in world.series("up", ABC)
        for t, v in zip(s.timestamps, s.values, strict=True)
        if lo <= t <= hi
    ]
    assert world.expected_uptime("abc-app", *day) == sum(samples) / len(samples)
    assert world.expected_uptime("abc-app", *day) == pytest.approx(1 - 24 / (2 * 5761))
    assert world.expected_uptime("abc-app", *day, instance="abc-1:8080") == 1.0
    assert world.expected_uptime("checkout", *day) == 1.0


def test_error_ratio_is_five_percent_during_the_burst_and_low_otherwise(world: World) -> None:
    burst = (at(world, 14, 30), at(world, 14, 45))
    assert world.expected_error_ratio("abc-app", *burst) == pytest.approx(0.05, abs=0.001)
    assert world.expected_error_ratio("abc-app", at(world, 10), at(world, 12)) == pytest.approx(
        0.002, abs=0.0005
    )
    assert world.expected_error_ratio("abc-app-staging", at(world, 10), at(world, 12)) > 0.004
    assert world.incident("abc-app-5xx-burst").peak == pytest.approx(0.05, abs=0.01)


def test_error_ratio_matches_a_direct_count_from_the_samples(world: World) -> None:
    start, end = int(at(world, 14, 30).timestamp()), int(at(world, 14, 45).timestamp())
    errors = total = 0.0
    for series in world.series("http_requests_total", ABC):
        values = dict(zip(series.timestamps, series.values, strict=True))
        increase = values[end] - values[start]
        total += increase
        errors += increase if series.labels["status"] in ("500", "503") else 0
    expected = world.expected_error_ratio("abc-app", at(world, 14, 30), at(world, 14, 45), extrapolate=False)
    assert expected == errors / total


def test_raw_and_extrapolated_increase_agree_on_aligned_windows(world: World) -> None:
    args = ("http_requests_total", at(world, 14, 30), at(world, 14, 45), ABC)
    raw = world.expected_increase(*args, extrapolate=False)
    assert world.expected_increase(*args) == pytest.approx(raw, rel=1e-12)


def test_extrapolation_follows_prometheus_on_unaligned_windows(world: World) -> None:
    labels = ABC | {"instance": "abc-1:8080", "method": "GET", "status": "200"}
    timestamps, values = only(world, "http_requests_total", labels)
    start, end = at(world, 14, 30, 7), at(world, 14, 45, 7)
    inside = [
        (t, v) for t, v in zip(timestamps, values, strict=True) if start.timestamp() <= t <= end.timestamp()
    ]
    (t0, v0), (t1, v1) = inside[0], inside[-1]
    # The first and last samples are 8 s and 7 s from the window's ends, under 1.1 x 15 s: extend both.
    expected = (v1 - v0) * (t1 - t0 + 8 + 7) / (t1 - t0)
    assert world.expected_increase("http_requests_total", start, end, labels) == pytest.approx(
        expected, rel=1e-12
    )
    raw = world.expected_increase("http_requests_total", start, end, labels, extrapolate=False)
    assert raw == v1 - v0
    assert abs(expected - raw) / raw <= 15 / (900 - 15) * (1 + 1e-12)  # equal here, up to rounding


def test_request_rate_is_about_twenty_per_second_per_instance(world: World) -> None:
    rate = world.expected_rate(
        "http_requests_total", at(world, 0), at(world, 24), ABC | {"instance": "abc-1:8080"}
    )
    assert rate == pytest.approx(20, rel=0.05)
    peak = world.expected_rate(
        "http_requests_total", at(world, 14), at(world, 16), ABC | {"instance": "abc-1:8080"}
    )
    night = world.expected_rate(
        "http_requests_total", at(world, 2), at(world, 4), ABC | {"instance": "abc-1:8080"}
    )
    assert peak > 1.5 * night


def test_latency_p95_rises_during_latency_incidents(world: World) -> None:
    abc_burst = world.expected_quantile(0.95, "abc-app", at(world, 14, 30), at(world, 14, 45))
    abc_normal = world.expected_quantile(0.95, "abc-app", at(world, 12), at(world, 13))
    checkout = world.expected_quantile(0.95, "checkout", at(world, 9), at(world, 9, 20))
    assert abc_normal < 0.25 < 0.9 < abc_burst
    assert checkout > 0.9
    assert world.incident("checkout-latency").peak > 0.9


def test_quantile_matches_buckets_counted_from_the_samples(world: World) -> None:
    start, end = int(at(world, 14, 30).timestamp()), int(at(world, 14, 45).timestamp())
    buckets: dict[float, float] = {}
    for series in world.series("http_request_duration_seconds_bucket", ABC):
        values = dict(zip(series.timestamps, series.values, strict=True))
        le = float(series.labels["le"])
        buckets[le] = buckets.get(le, 0.0) + values[end] - values[start]
    expected = world.expected_quantile(
        0.95, "abc-app", at(world, 14, 30), at(world, 14, 45), extrapolate=False
    )
    assert expected == histogram_quantile(0.95, list(buckets.items()))


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    buckets = [(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (math.inf, 100.0)]
    assert histogram_quantile(0.5, buckets) == 0.1
    assert histogram_quantile(0.7, buckets) == pytest.approx(0.3)
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.05)
    assert histogram_quantile(1.0, [(1.0, 1.0), (math.inf, 2.0)]) == 1.0
    assert math.isnan(histogram_quantile(0.5, [(1.0, 0.0), (math.inf, 0.0)]))


def test_over_time_matches_the_samples(world: World) -> None:
    node = {"instance": "node-1:9100"}
    start, end = at(world, 14, 30), at(world, 14, 45)
    _, values = only(world, "node_memory_MemAvailable_bytes", node)
    timestamps, _ = only(world, "node_memory_MemAvailable_bytes", node)
    window = [v for t, v in zip(timestamps, values, strict=True) if start.timestamp() <= t <= end.timestamp()]
    assert len(window) == 61
    [(labels, low)] = world.over_time("min", "node_memory_MemAvailable_bytes", start, end, node)
    assert labels == {"job": "node", "instance": "node-1:9100"}
    assert low == min(window)
    assert (
        world.over_time("avg", "node_memory_MemAvailable_bytes", start, end, node)[0][1] == sum(window) / 61
    )
    assert world.over_time("count", "node_memory_MemAvailable_bytes", start, end, node)[0][1] == 61


def test_host_of_abc_saturates_during_the_burst(world: World) -> None:
    cpu, memory = world.incident("node-1-cpu"), world.incident("node-1-memory")
    assert cpu.peak > 0.85
    assert memory.peak < 0.2
    idle = {"instance": "node-1:9100", "mode": "idle"}
    busy_burst = 1 - world.expected_rate("node_cpu_seconds_total", cpu.start, cpu.end, idle) / 2
    busy_before = 1 - world.expected_rate("node_cpu_seconds_total", at(world, 13), at(world, 14), idle) / 2
    assert busy_burst > 0.85 > 0.4 > busy_before


def test_value_at_looks_back_five_minutes(world: World) -> None:
    assert len(world.value_at("up", world.end)) == 4
    assert len(world.value_at("up", world.end + timedelta(minutes=5))) == 4
    assert world.value_at("up", world.end + timedelta(minutes=5, seconds=1)) == []
    abc_2 = ABC | {"instance": "abc-2:8080"}
    assert len(world.value_at("http_requests_total", at(world, 3, 15), abc_2)) == 4
    assert world.value_at("http_requests_total", at(world, 3, 15, 1), abc_2) == []


def test_label_conventions_differ_between_apps(world: World) -> None:
    checkout = world.select("up", world.apps["checkout"].selector)
    assert [s.labels["instance"] for s in checkout] == ["checkout-1:8080"]
    assert all("app" not in s.labels for s in checkout)
    assert checkout[0].labels["namespace"] == "payments"
    staging = world.select("up", {"app": "abc-app", "env": "staging"})
    assert [s.labels["instance"] for s in staging] == ["abc-staging-1:8080"]
    assert world.select("http_requests_total", world.apps["abc-app-staging"].selector)


def test_incident_queries_name_their_selectors(world: World) -> None:
    assert 'service="checkout"' in world.incident("checkout-latency").query
    assert (
        world.incident("abc-2-down").query
        == 'up{app="abc-app",env="prod",job="abc-app",instance="abc-2:8080"}'
    )
    with pytest.raises(KeyError):
        world.incident("nope")


def test_build_world_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_world(datetime(2025, 3, 10, 12, 34))
    with pytest.raises(ValueError, match="previous UTC day"):
        build_world(END, hours=24)
    with pytest.raises(ValueError, match="interval"):
        build_world(END, interval=7)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_]\w*="[^"]*",?)*)\} (\S+) (\d+)$')


def test_openmetrics_text_is_well_formed_and_round_trips(world: World, tmp_path: Path) -> None:
    path = tmp_path / "world.om"
    assert world.write_openmetrics(path) == world.sample_count
    lines = path.read_text().splitlines()
    assert lines[-1] == "# EOF"
    types = [line.split()[2:] for line in lines if line.startswith("# TYPE")]
    assert ["http_requests", "counter"] in types
    assert ["http_request_duration_seconds", "histogram"] in types
    assert len({t[0] for t in types}) == len(types)
    samples = [line for line in lines if not line.startswith("#")]
    assert len(samples) == world.sample_count
    first = world.select("http_requests_total", ABC | {"instance": "abc-1:8080", "status": "500"})[0]
    parsed = [
        SAMPLE.match(line)
        for line in samples
        if line.startswith(f"{first.name}{{") and 'status="500"' in line
    ]
    matches = [m for m in parsed if m and 'instance="abc-1:8080"' in m.group(2)]
    assert [(int(m.group(4)), float(m.group(3))) for m in matches] == list(
        zip(first.timestamps, first.values, strict=True)
    )
    for line in samples[:: len(samples) // 50]:
        match = SAMPLE.match(line)
        assert match, line
        family_of(match.group(1))


def test_openmetrics_can_be_cut_into_time_slices(world: World, tmp_path: Path) -> None:
    middle = int(world.end.timestamp()) - 7200
    head = world.write_openmetrics(tmp_path / "head.om", until=middle)
    tail = world.write_openmetrics(tmp_path / "tail.om", since=middle)
    assert head + tail == world.sample_count
    lines = (tmp_path / "tail.om").read_text().splitlines()
    stamps = {int(line.rsplit(" ", 1)[1]) for line in lines if not line.startswith("#")}
    assert min(stamps) == middle
