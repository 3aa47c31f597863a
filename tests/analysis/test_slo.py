import math

import pytest

from aiops_mcp.analysis.slo import (
    error_budget,
    evaluate_slo,
    sample_interval,
    uptime,
    verdict,
    violation_windows,
)

DAY = 86_400.0
MIDNIGHT = 1_700_006_400.0  # a UTC midnight


def _day(step: float, value: float) -> list[tuple[float, float]]:
    return [(MIDNIGHT + i * step, value) for i in range(int(DAY // step))]


def test_a_fifteen_minute_breach_in_a_day_is_exactly_one_fifteen_minute_window() -> None:
    samples = _day(60, 0.01)
    start, end = MIDNIGHT + 14.5 * 3600, MIDNIGHT + 14.75 * 3600
    samples = [(t, 0.05 if start <= t < end else v) for t, v in samples]
    samples[[t for t, _ in samples].index(start + 300)] = (start + 300, 0.08)
    windows = violation_windows(samples, 0.02, above=True)
    assert len(windows) == 1
    (window,) = windows
    assert (window.start, window.end, window.duration) == (start, end, 900.0)
    assert (window.peak, window.peak_at) == (0.08, start + 300)


def test_below_threshold_windows_report_the_lowest_value() -> None:
    samples = [(float(t), v) for t, v in enumerate([5.0, 1.0, 0.5, 2.0, 5.0])]
    (window,) = violation_windows(samples, 3.0, above=False)
    assert (window.start, window.end, window.peak, window.peak_at) == (1.0, 4.0, 0.5, 2.0)


def test_nan_breaks_a_run_and_is_never_a_breach() -> None:
    samples = [(float(t), v) for t, v in enumerate([9.0, 9.0, math.nan, 9.0, math.nan])]
    windows = violation_windows(samples, 1.0, above=True)
    assert [(w.start, w.end) for w in windows] == [(0.0, 2.0), (3.0, 4.0)]


def test_a_gap_in_the_samples_breaks_a_run() -> None:
    samples = [(0.0, 9.0), (60.0, 9.0), (120.0, 9.0), (3600.0, 9.0), (3660.0, 9.0)]
    windows = violation_windows(samples, 1.0, above=True)
    assert [(w.start, w.end) for w in windows] == [(0.0, 180.0), (3600.0, 3720.0)]


def test_short_windows_are_dropped_by_min_duration() -> None:
    samples = [(t * 60.0, v) for t, v in enumerate([9.0, 0.0, 9.0, 9.0, 9.0, 0.0])]
    windows = violation_windows(samples, 1.0, above=True, min_duration=120)
    assert [(w.start, w.duration) for w in windows] == [(120.0, 180.0)]


def test_windows_of_empty_or_quiet_series_are_none() -> None:
    assert violation_windows([], 1.0, above=True) == []
    assert violation_windows(_day(300, 0.5), 1.0, above=True) == []
    assert sample_interval([(5.0, 1.0)]) == 0.0


def test_a_six_minute_outage_on_one_of_two_instances() -> None:
    outage_start = MIDNIGHT + 10 * 3600
    broken = [(t, 0.0 if outage_start <= t < outage_start + 360 else 1.0) for t, _ in _day(15, 1.0)]
    result = uptime({"a:9100": _day(15, 1.0), "b:9100": broken})
    assert result.samples == 2 * 5760
    assert result.fraction == (2 * 5760 - 24) / (2 * 5760)
    assert result.percent == pytest.approx(100 * result.fraction)
    a, b = result.instances
    assert (a.instance, a.fraction, a.down_windows) == ("a:9100", 1.0, ())
    assert (b.up_samples, b.fraction) == (5760 - 24, (5760 - 24) / 5760)
    (down,) = b.down_windows
    assert (down.start, down.end, down.duration, down.peak) == (outage_start, outage_start + 360, 360.0, 0.0)


def test_uptime_without_samples_is_no_data_not_zero() -> None:
    result = uptime({"a": [(0.0, math.nan)], "b": []})
    assert (result.samples, result.fraction, result.percent) == (0, None, None)
    assert all(i.fraction is None for i in result.instances)
    assert uptime({}).fraction is None


def test_error_budget_arithmetic() -> None:
    budget = error_budget(99.9, 0.998)
    assert budget.allowed_bad_fraction == pytest.approx(0.001)
    assert budget.measured_bad_fraction == pytest.approx(0.002)
    assert budget.consumed_fraction == pytest.approx(2.0)
    assert budget.remaining_fraction == pytest.approx(-1.0)
    assert error_budget(99.0, 0.995).consumed_fraction == pytest.approx(0.5)
    assert error_budget(100, 1.0).consumed_fraction == 0.0
    assert error_budget(100, 0.9).consumed_fraction is None


@pytest.mark.parametrize(("target", "good"), [(0, 0.5), (101, 0.5), (99.0, 1.5), (99.0, -0.1)])
def test_error_budget_rejects_impossible_inputs(target: float, good: float) -> None:
    with pytest.raises(ValueError):
        error_budget(target, good)


def test_evaluate_slo_both_directions() -> None:
    availability = evaluate_slo("availability", 99.8, 99.9, higher_is_better=True)
    assert availability.compliant is False
    assert availability.margin == pytest.approx(-0.1)
    assert availability.budget_consumed == pytest.approx(2.0)
    latency = evaluate_slo("p95 latency", 0.4, 0.5, higher_is_better=False)
    assert latency.compliant is True
    assert latency.margin == pytest.approx(0.1)
    assert latency.budget_consumed == pytest.approx(0.8)
    assert evaluate_slo("exact", 0.5, 0.5, higher_is_better=False).compliant is True


def test_evaluate_slo_without_a_measurement_is_unknown() -> None:
    for measured in (None, math.nan):
        result = evaluate_slo("availability", measured, 99.9, higher_is_better=True)
        assert (result.compliant, result.margin, result.budget_consumed) == (None, None, None)


def test_verdict_rule() -> None:
    met = evaluate_slo("availability", 99.95, 99.9, higher_is_better=True)
    slightly = evaluate_slo("p95 latency", 0.6, 0.5, higher_is_better=False)
    badly = evaluate_slo("error rate", 0.05, 0.01, higher_is_better=False)
    unknown = evaluate_slo("saturation", None, 80, higher_is_better=False)
    assert verdict([met], has_data=True).status == "healthy"
    assert verdict([met, slightly], has_data=True).status == "degraded"
    assert verdict([met, slightly, badly], has_data=True).status == "unhealthy"
    assert "error rate" in verdict([badly], has_data=True).reason
    assert verdict([met], has_data=False).status == "no data"
    assert verdict([unknown], has_data=True).status == "no data"
    healthy = verdict([met, unknown], has_data=True)
    assert healthy.status == "healthy" and "saturation" in healthy.reason


def test_exactly_twice_the_budget_is_still_degraded() -> None:
    assert verdict([evaluate_slo("a", 99.8, 99.9, higher_is_better=True)], True).status == "degraded"
    assert verdict([evaluate_slo("e", 0.02, 0.01, higher_is_better=False)], True).status == "degraded"
    assert verdict([evaluate_slo("a", 99.7, 99.9, higher_is_better=True)], True).status == "unhealthy"


def test_no_slos_gives_measurements_without_a_verdict() -> None:
    result = verdict([], has_data=True)
    assert result.status is None
    assert "no SLOs" in result.reason
