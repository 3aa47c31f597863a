import math

from aiops_mcp.analysis.series import (
    downsample,
    format_number,
    percentile,
    round_sig,
    shape_series,
    sparkline,
    summarize,
)


def test_summary_uses_every_sample_and_finds_the_time_of_the_max() -> None:
    timestamps = [float(t) for t in range(100)]
    values = [1.0] * 100
    values[37] = 9.0
    stats = summarize(timestamps, values)
    assert (stats.samples, stats.min, stats.max, stats.max_at, stats.last) == (100, 1.0, 9.0, 37.0, 1.0)
    assert stats.mean == (99 + 9) / 100


def test_summary_skips_nan_and_counts_it() -> None:
    stats = summarize([1.0, 2.0, 3.0], [float("nan"), 4.0, 2.0])
    assert (stats.min, stats.max, stats.nan_samples, stats.samples) == (2.0, 4.0, 1, 3)


def test_summary_of_only_nan_has_no_statistics() -> None:
    stats = summarize([1.0], [float("nan")])
    assert stats.max is None and stats.mean is None


def test_p95_interpolates_like_numpy() -> None:
    assert percentile([float(v) for v in range(1, 101)], 0.95) == 95.05


def test_downsample_keeps_a_spike_and_an_outage() -> None:
    ts = [float(t) for t in range(1000)]
    values = [50.0] * 1000
    values[123] = 500.0
    values[777] = 0.0
    out_t, out_v = downsample(ts, values, 20)
    assert len(out_v) == 20
    assert 500.0 in out_v and 0.0 in out_v
    assert out_t[out_v.index(500.0)] == 123.0


def test_downsample_leaves_short_series_alone() -> None:
    assert downsample([1.0, 2.0], [3.0, 4.0], 10) == ([1.0, 2.0], [3.0, 4.0])


def test_shape_series_ranks_largest_first_and_counts_the_rest() -> None:
    series = [({"i": str(i)}, [0.0, 1.0], [float(i), float(i)]) for i in range(25)]
    shown, omitted = shape_series(series, max_series=5, max_points=2)
    assert [s.labels["i"] for s in shown] == ["24", "23", "22", "21", "20"]
    assert omitted == 20


def test_sparkline_spans_low_to_high() -> None:
    line = sparkline([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 8)
    assert line[0] == "▁" and line[-1] == "█" and len(line) == 8


def test_numbers_keep_four_significant_digits() -> None:
    assert round_sig(123456.0) == 123500.0
    assert round_sig(0.000123456) == 0.0001235
    assert format_number(0.0012346) == "0.001235"
    assert format_number(None) == "-"
    assert round_sig(float("inf")) == math.inf
