import math

import pytest

from aiops_mcp.analysis.impact import ImpactVerdict, compare_to_baseline, impact_verdict


def test_a_latency_peak_against_yesterday_is_impacted_with_a_readable_reason() -> None:
    result = compare_to_baseline(
        "p95 latency", [0.3, 0.96, 0.5], {"the same window yesterday": [0.2, 0.24]}, unit="s"
    )
    assert (result.status, result.impacted, result.peak) == ("ok", True, 0.96)
    (base,) = result.baselines
    assert base.mean == pytest.approx(0.22)
    assert base.peak_ratio == pytest.approx(0.96 / 0.22)
    assert base.mean_ratio == pytest.approx((1.76 / 3) / 0.22)
    assert "p95 latency peak 0.96 s is 4.4× the same window yesterday (0.22 s)" in result.reason


def test_impacted_only_when_worse_than_every_baseline() -> None:
    result = compare_to_baseline("cpu", [0.9], {"yesterday": [0.3], "last week": [0.8]})
    assert [b.impacted for b in result.baselines] == [True, False]
    assert result.impacted is False
    assert result.reason.startswith("not impacted")


def test_min_absolute_ignores_large_ratios_of_tiny_values() -> None:
    result = compare_to_baseline("errors/s", [0.003], {"yesterday": [0.001]}, min_absolute=0.1)
    assert result.baselines[0].peak_ratio == pytest.approx(3.0)
    assert result.impacted is False


def test_lower_is_worse_uses_the_trough() -> None:
    result = compare_to_baseline("requests/s", [100.0, 20.0], {"yesterday": [100.0]}, higher_is_worse=False)
    assert (result.peak, result.impacted) == (20.0, True)
    assert result.baselines[0].peak_ratio == pytest.approx(0.2)
    steady = compare_to_baseline("requests/s", [90.0], {"yesterday": [100.0]}, higher_is_worse=False)
    assert steady.impacted is False


def test_a_zero_baseline_gives_no_ratio_and_says_why() -> None:
    result = compare_to_baseline("5xx/s", [0.0, 2.0], {"yesterday": [0.0, 0.0]})
    (base,) = result.baselines
    assert (base.mean, base.peak_ratio, base.mean_ratio) == (0.0, None, None)
    assert "ratio undefined" in base.reason
    assert result.impacted is True
    quiet = compare_to_baseline("5xx/s", [0.0], {"yesterday": [0.0]})
    assert quiet.impacted is False


def test_missing_window_or_baselines_is_missing_not_zero() -> None:
    empty = compare_to_baseline("cpu", [], {"yesterday": [0.5]})
    assert (empty.status, empty.peak, empty.mean, empty.impacted) == ("missing", None, None, None)
    only_nan = compare_to_baseline("cpu", [math.nan], {"yesterday": [0.5]})
    assert only_nan.status == "missing"
    no_base = compare_to_baseline("cpu", [0.5], {"yesterday": [], "last week": [math.nan]})
    assert (no_base.status, no_base.impacted, no_base.peak) == ("missing", None, 0.5)
    assert all(b.mean is None and b.peak_ratio is None for b in no_base.baselines)
    assert compare_to_baseline("cpu", [0.5], {}).status == "missing"


def test_an_empty_baseline_is_skipped_when_another_has_data() -> None:
    result = compare_to_baseline("cpu", [0.9, math.nan], {"yesterday": [], "last week": [0.3]})
    assert (result.status, result.impacted, result.mean) == ("ok", True, 0.9)
    assert "no data for yesterday" in result.reason


def test_a_peak_within_the_baselines_own_range_is_noise_not_impact() -> None:
    # A low-traffic error ratio: the baseline mean is small but it reaches the same peaks.
    noisy = compare_to_baseline("error %", [0.0, 3.3, 0.0], {"hour before": [0.0, 0.0, 3.4, 0.0]})
    (base,) = noisy.baselines
    assert base.worst == 3.4 and base.peak_ratio == pytest.approx(3.3 / 0.85)
    assert noisy.impacted is False and "within hour before's own range (peak 3.4)" in noisy.reason
    beyond = compare_to_baseline("error %", [0.0, 5.0], {"hour before": [0.0, 0.0, 3.4, 0.0]})
    assert beyond.impacted is True
    day = [100.0, 100.0, 100.0, 10.0]
    trough = compare_to_baseline("up %", [100.0, 20.0], {"day": day}, higher_is_worse=False)
    assert trough.baselines[0].peak_ratio == pytest.approx(20 / 77.5)
    assert trough.impacted is False and trough.baselines[0].worst == 10.0
    assert compare_to_baseline("up %", [5.0], {"day": day}, higher_is_worse=False).impacted is True


def test_a_window_with_too_few_points_is_insufficient_data_not_impacted() -> None:
    # An instance that served nothing for 6 minutes: its ratio has 2 of 25 points, at the edges.
    edges = compare_to_baseline(
        "error %", [1.005, 0.2], {"day": [0.2] * 25}, expected_points={"window": 25, "day": 25}
    )
    assert (edges.status, edges.impacted, edges.peak, edges.coverage) == (
        "insufficient data",
        None,
        1.005,
        0.08,
    )
    assert "2 of 25 points" in edges.reason and edges.baselines == ()
    half = compare_to_baseline("error %", [5.0] * 13, {"day": [0.2] * 25}, expected_points={"window": 25})
    assert (half.status, half.impacted, half.coverage) == ("ok", True, 0.52)


def test_a_baseline_with_too_few_points_is_skipped() -> None:
    result = compare_to_baseline(
        "cpu",
        [90.0] * 10,
        {"day": [20.0], "hour": [20.0] * 40},
        expected_points={"window": 10, "day": 10, "hour": 40},
    )
    day, hour = result.baselines
    assert (day.impacted, day.mean) == (None, None) and "too few points for day (1 of 10)" in day.reason
    assert (hour.impacted, result.impacted) == (True, True)


def test_non_finite_values_are_not_data() -> None:
    result = compare_to_baseline("p95", [math.inf, 0.3, math.nan], {"day": [-math.inf, 0.2]})
    assert (result.peak, result.mean) == (0.3, 0.3)
    assert result.baselines[0].mean == 0.2
    assert compare_to_baseline("p95", [math.inf], {"day": [0.2]}).status == "missing"


def test_the_worst_value_must_clear_the_baselines_range_by_the_absolute_threshold() -> None:
    # 2.5 % against a noisy 0.5 % mean whose own peaks reach 2.4 %: a ratio of 5, yet noise.
    noise = compare_to_baseline("error %", [0.4, 2.5, 0.5], {"day": [0.5, 2.4, 0.4, 0.7]}, min_absolute=0.5)
    assert noise.impacted is False and noise.baselines[0].peak_ratio == pytest.approx(2.5 / 1.0)
    burst = compare_to_baseline("error %", [4.9, 5.1], {"day": [0.5, 2.4, 0.4, 0.7]}, min_absolute=0.5)
    assert burst.impacted is True


def test_the_overall_verdict_names_the_impacted_signals() -> None:
    assert impact_verdict({"cpu": True, "memory": False, "errors": None}) == ImpactVerdict(
        "impacted", ("cpu",)
    )
    assert impact_verdict({"cpu": False, "errors": None}).status == "not impacted"
    assert impact_verdict({"errors": None}) == ImpactVerdict("no data", ())
    assert impact_verdict({}).status == "no data"
