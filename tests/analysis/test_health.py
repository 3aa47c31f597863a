import math

import pytest

from aiops_mcp.analysis.health import (
    OBJECTIVES,
    Measurements,
    evaluate_health,
    latency_budget_consumed,
    time_share_above,
)
from aiops_mcp.store.schemas import SLOs

TIMES = [15.0 * i for i in range(200)]


def flat(value: float) -> list[tuple[float, float]]:
    return [(t, value) for t in TIMES]


def test_every_slo_the_profile_schema_allows_is_an_objective() -> None:
    assert [o.name for o in OBJECTIVES] == list(SLOs.model_fields)


def test_the_latency_budget_is_the_time_over_target_over_the_allowed_share() -> None:
    series = [(t, 0.9 if i < 4 else 0.2) for i, t in enumerate(TIMES)]  # 4 of 200 points: 2 %
    assert time_share_above(series, 0.5) == 0.02
    assert latency_budget_consumed(series, 0.5, 0.95) == pytest.approx(0.4)  # 2 % of 5 % allowed
    assert latency_budget_consumed(series, 0.5, 0.99) == pytest.approx(2.0)  # 2 % of 1 % allowed
    assert latency_budget_consumed([(0.0, math.nan)], 0.5, 0.95) is None


def test_measurements_are_reported_with_or_without_targets() -> None:
    m = Measurements(
        up={"a:1": flat(1.0)},
        totals={"error_rate": 0.004, "p95_latency_ms": 0.3, "p99_latency_ms": 0.6},
        series={"p95_latency_ms": flat(0.3)},
    )
    report = evaluate_health(m, {"p95_latency_ms": 250}, failed=False)
    by_name = {r.objective.name: r for r in report.objectives}
    assert [r.measured for r in report.objectives] == [100.0, 0.4, 300.0, 600.0]
    assert all(r.target is None and r.compliant is None for n, r in by_name.items() if n != "p95_latency_ms")
    p95 = by_name["p95_latency_ms"]
    assert (p95.target, p95.compliant, p95.budget_consumed) == (250, False, pytest.approx(20.0))
    assert report.verdict.status == "unhealthy" and report.status == "ok"

    none = evaluate_health(m, {}, failed=False)
    assert none.verdict.status is None and "no SLOs" in none.verdict.reason
    assert [r.measured for r in none.objectives] == [100.0, 0.4, 300.0, 600.0] and none.breaches == ()


def test_availability_budget_is_the_down_share_over_the_allowed_one() -> None:
    down = [(t, 0.0 if i < 1 else 1.0) for i, t in enumerate(TIMES)]  # 1 of 200: 99.5 %
    m = Measurements(up={"a:1": down}, totals={}, series={})
    (availability, *_) = evaluate_health(m, {"availability": 99.0}, failed=False).objectives
    assert availability.measured == pytest.approx(99.5)
    assert (availability.compliant, availability.budget_consumed) == (True, pytest.approx(0.5))


def test_a_failed_query_makes_the_report_partial_and_the_rest_is_judged() -> None:
    m = Measurements(up={"a:1": flat(1.0)}, totals={"error_rate": 0.001}, series={})
    report = evaluate_health(m, {"availability": 99.9, "p95_latency_ms": 500}, failed=True)
    assert report.status == "partial"
    by_name = {r.objective.name: r for r in report.objectives}
    assert by_name["availability"].compliant is True and by_name["p95_latency_ms"].compliant is None
    assert report.verdict.status == "healthy" and "no data for p95_latency_ms" in report.verdict.reason


def test_no_data_at_all_is_empty() -> None:
    report = evaluate_health(Measurements({}, {}, {}), {"availability": 99.9}, failed=False)
    assert (report.status, report.verdict.status) == ("empty", "no data")
    assert all(r.measured is None for r in report.objectives)


def test_a_flapping_app_keeps_its_longest_windows_and_counts_the_rest() -> None:
    # 30 breaches of 15 s and one of 60 s: the report keeps 10 (the 60 s one among them) and says so.
    ratio = [(t, 0.05 if i % 4 == 0 and i < 120 else 0.0) for i, t in enumerate(TIMES)]
    ratio[150:154] = [(t, 0.09) for t, _ in ratio[150:154]]
    m = Measurements(up={"a:1": flat(1.0)}, totals={"error_rate": 0.01}, series={"error_rate": ratio})
    report = evaluate_health(m, {"error_rate": 1}, failed=False)
    assert len(report.breaches) == 10 and report.breaches_omitted == 21
    assert any(b.window.peak == pytest.approx(9) for b in report.breaches), "the longest breach is kept"
    assert [b.window.start for b in report.breaches] == sorted(b.window.start for b in report.breaches)
    assert {(b.signal, b.unit) for b in report.breaches} == {("error_rate", "%")}
    assert report.status == "truncated"
