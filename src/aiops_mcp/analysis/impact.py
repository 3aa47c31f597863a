"""Was a signal impacted? The incident window compared with baseline windows. Pure, no I/O.

A signal is impacted when its worst value in the window (the peak, or the trough when lower is
worse), against every baseline with data, departs from the baseline's mean by at least
`ratio_threshold` times, and lies beyond the baseline's own worst value by at least
`min_absolute` in the signal's unit (strictly beyond when that is 0): a noisy signal whose
baseline reaches about the same peaks is not impacted, however large its ratio to the mean.

A range judged on too few points proves nothing: when the expected number of points is given
(a range query's evaluation count), the window needs at least `MIN_COVERAGE` of them with a
value, else the signal is "insufficient data" (neither impacted nor zero); a baseline below it
is skipped like an empty one. Missing data is reported as missing, never as 0. Non-finite
values (NaN, ±Inf: a ratio or quantile without traffic) are not data.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aiops_mcp.analysis.series import format_number

MIN_COVERAGE = 0.5
"""Share of the expected points a window (or baseline) needs with a value to be judged."""

SignalStatus = Literal["ok", "missing", "insufficient data"]


@dataclass(frozen=True, slots=True)
class BaselineComparison:
    """The window against one baseline; ratios are None when the baseline is empty or zero."""

    name: str
    mean: float | None
    worst: float | None
    mean_ratio: float | None
    peak_ratio: float | None
    impacted: bool | None
    reason: str


@dataclass(frozen=True, slots=True)
class SignalImpact:
    """One signal in the incident window: its worst value and mean against each baseline.

    `coverage` is the share of the expected points that had a value (None when not known)."""

    signal: str
    status: SignalStatus
    peak: float | None
    mean: float | None
    coverage: float | None
    baselines: tuple[BaselineComparison, ...]
    impacted: bool | None
    reason: str


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _coverage(points: int, expected: int | None) -> float | None:
    return None if not expected else min(1.0, points / expected)


def _quantity(value: float, unit: str) -> str:
    return f"{format_number(value)} {unit}" if unit else format_number(value)


@dataclass(frozen=True, slots=True)
class _Rule:
    signal: str
    higher_is_worse: bool
    ratio_threshold: float
    min_absolute: float
    unit: str


def _compare(
    rule: _Rule, name: str, peak: float, mean: float, baseline: Sequence[float], expected: int | None
) -> BaselineComparison:
    finite = _finite(baseline)
    covered = _coverage(len(finite), expected)
    if not finite:
        return BaselineComparison(name, None, None, None, None, None, f"no data for {name}")
    if covered is not None and covered < MIN_COVERAGE:
        reason = f"too few points for {name} ({len(finite)} of {expected})"
        return BaselineComparison(name, None, None, None, None, None, reason)
    base = math.fsum(finite) / len(finite)
    higher = rule.higher_is_worse
    worst = max(finite) if higher else min(finite)
    beyond = peak - worst if higher else worst - peak
    outside = beyond >= rule.min_absolute and beyond > 0
    word = "peak" if higher else "low"
    shown = f"{rule.signal} {word} {_quantity(peak, rule.unit)}"
    within = "" if outside else f", within {name}'s own range ({word} {_quantity(worst, rule.unit)})"
    if base == 0:
        # Any rise from zero is an infinite ratio: decide on the absolute departure alone.
        reason = f"{shown} against {name} of 0: ratio undefined{within}"
        return BaselineComparison(name, base, worst, None, None, outside, reason)
    peak_ratio = peak / base
    worse_by = peak_ratio if higher else (base / peak if peak > 0 else math.inf)
    impacted = outside and worse_by >= rule.ratio_threshold
    reason = f"{shown} is {peak_ratio:.1f}× {name} ({_quantity(base, rule.unit)}){within}"
    return BaselineComparison(name, base, worst, mean / base, peak_ratio, impacted, reason)


def compare_to_baseline(
    signal: str,
    window: Sequence[float],
    baselines: Mapping[str, Sequence[float]],
    *,
    higher_is_worse: bool = True,
    ratio_threshold: float = 1.5,
    min_absolute: float = 0.0,
    unit: str = "",
    expected_points: Mapping[str, int] | None = None,
) -> SignalImpact:
    """Compare the incident window's values with each named baseline (e.g. "the same window yesterday").

    `expected_points` maps ``"window"`` and baseline names to the points their range should hold
    (absent: no coverage check). `impacted` is True when the window is worse than every baseline
    that has data; None when the window or all baselines are empty (`status="missing"`) or the
    window holds too few points (`status="insufficient data"`).
    """
    expected = expected_points or {}
    finite = _finite(window)
    covered = _coverage(len(finite), expected.get("window"))
    if not finite:
        return SignalImpact(
            signal, "missing", None, None, covered, (), None, f"no data for {signal} in the window"
        )
    peak = max(finite) if higher_is_worse else min(finite)
    mean = math.fsum(finite) / len(finite)
    if covered is not None and covered < MIN_COVERAGE:
        reason = (
            f"insufficient data: {len(finite)} of {expected['window']} points in the window "
            f"({100 * covered:.0f} %, at least {100 * MIN_COVERAGE:.0f} % needed)"
        )
        return SignalImpact(signal, "insufficient data", peak, mean, covered, (), None, reason)
    rule = _Rule(signal, higher_is_worse, ratio_threshold, min_absolute, unit)
    comparisons = tuple(
        _compare(rule, name, peak, mean, values, expected.get(name)) for name, values in baselines.items()
    )
    decided = [c for c in comparisons if c.impacted is not None]
    if not decided:
        return SignalImpact(
            signal, "missing", peak, mean, covered, comparisons, None, f"no baseline data for {signal}"
        )
    impacted = all(c.impacted for c in decided)
    verb = "impacted" if impacted else "not impacted"
    reason = f"{verb}: " + "; ".join(c.reason for c in comparisons)
    return SignalImpact(signal, "ok", peak, mean, covered, comparisons, impacted, reason)


@dataclass(frozen=True, slots=True)
class ImpactVerdict:
    """impacted (with the signals), not impacted (some judged, none impacted), or no data."""

    status: Literal["impacted", "not impacted", "no data"]
    impacted: tuple[str, ...]


def impact_verdict(judged: Mapping[str, bool | None]) -> ImpactVerdict:
    """The overall verdict from each signal's `impacted` (None: not judged)."""
    impacted = tuple(name for name, flag in judged.items() if flag)
    if impacted:
        return ImpactVerdict("impacted", impacted)
    return ImpactVerdict("not impacted" if any(flag is False for flag in judged.values()) else "no data", ())
