import math

from aiops_mcp.analysis.events import bucket_grid, bucket_totals, event_breakdown, timeline_peak


def test_breakdown_merges_level_spellings_with_percentages() -> None:
    result = event_breakdown([("ERROR", 30.0), ("err", 10.0), ("warning", 40.0), ("info", 20.0)])
    assert result.total == 100
    assert [(lc.level, lc.count, lc.percent) for lc in result.levels] == [
        ("error", 40, 40.0),
        ("warn", 40, 40.0),
        ("info", 20, 20.0),
    ]


def test_breakdown_of_nothing_is_zero_events() -> None:
    result = event_breakdown([])
    assert (result.total, result.levels) == (0, ())


def test_timeline_peak_is_the_busiest_bucket_and_its_share() -> None:
    points = [(3600.0 * h, 5.0) for h in range(24)]
    points[14] = (3600.0 * 14, 25.0)
    peak = timeline_peak(points)
    assert (peak.at, peak.count, peak.total, peak.buckets) == (3600.0 * 14, 25.0, 140.0, 24)
    assert peak.share == 25.0 / 140.0


def test_timeline_peak_ties_go_to_the_earliest_and_nan_is_skipped() -> None:
    peak = timeline_peak([(120.0, 3.0), (60.0, 3.0), (0.0, math.nan)])
    assert (peak.at, peak.buckets) == (60.0, 2)


def test_timeline_peak_of_empty_or_silent_timelines() -> None:
    empty = timeline_peak([])
    assert (empty.at, empty.count, empty.share, empty.total) == (None, None, None, 0.0)
    silent = timeline_peak([(0.0, 0.0), (60.0, 0.0)])
    assert (silent.at, silent.count, silent.share) == (0.0, 0.0, None)


def test_bucket_grid_covers_the_window_on_multiples_of_the_step() -> None:
    assert bucket_grid(700.0, 1000.0, 100.0) == [800.0, 900.0, 1000.0]
    # Edges off the grid: the first and last bucket reach past the window.
    assert bucket_grid(750.0, 1020.0, 100.0) == [800.0, 900.0, 1000.0, 1100.0]
    assert bucket_grid(1000.0, 1000.0, 100.0) == [1100.0]


def test_bucket_totals_sum_series_and_count_missing_steps_as_zero() -> None:
    grid = [800.0, 900.0, 1000.0]
    errors = [(800.0, 2.0), (1000.0, 5.0)]
    info = [(900.0, 7.0), (1000.0, 1.0), (1100.0, 99.0), (950.0, 42.0), (800.0, math.nan)]
    assert bucket_totals([errors, info], grid) == [2.0, 7.0, 6.0]
    assert bucket_totals([], grid) == [0.0, 0.0, 0.0]
