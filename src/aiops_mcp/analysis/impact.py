"""Was a signal impacted? The incident window compared with baseline windows. Pure, no I/O.

A signal is impacted when its worst value in the window (the peak, or the trough when lower is
worse), against every baseline with data, departs from the baseline's mean by at least
`ratio_threshold` times and by at least `min_absolute` in the signal's unit, and lies beyond the
baseline's own worst value: a noisy signal whose baseline reaches the same peaks is not impacted.
Missing data is reported as missing, never as 0.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aiops_mcp.analysis.series import format_number


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
    """One signal in the incident window: its worst value and mean against each baseline."""

    signal: str
    status: Literal["ok", "missing"]
    peak: float | None
    mean: float | None
    baselines: tuple[BaselineComparison, ...]
    impacted: bool | None
    reason: str


def _mean(values: Sequence[float]) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    return math.fsum(finite) / len(finite) if finite else None


def _quantity(value: float, unit: str) -> str:
    return f"{format_number(value)} {unit}" if unit else format_number(value)


def _compare(
    signal: str,
    name: str,
    peak: float,
    mean: float,
    baseline: Sequence[float],
    higher_is_worse: bool,
    ratio_threshold: float,
    min_absolute: float,
    unit: str,
) -> BaselineComparison:
    base = _mean(baseline)
    word = "peak" if higher_is_worse else "low"
    shown = f"{signal} {word} {_quantity(peak, unit)}"
    if base is None:
        return BaselineComparison(name, None, None, None, None, None, f"no data for {name}")
    finite = [v for v in baseline if not math.isnan(v)]
    worst = max(finite) if higher_is_worse else min(finite)
    beyond = peak > worst if higher_is_worse else peak < worst
    change = peak - base if higher_is_worse else base - peak
    within = "" if beyond else f", within {name}'s own range ({word} {_quantity(worst, unit)})"
    if base == 0:
        # Any rise from zero is an infinite ratio: decide on the absolute change alone.
        impacted = beyond and change > 0 and change >= min_absolute
        reason = f"{shown} against {name} of 0: ratio undefined{within}"
        return BaselineComparison(name, base, worst, None, None, impacted, reason)
    peak_ratio = peak / base
    worse_by = peak_ratio if higher_is_worse else (base / peak if peak > 0 else math.inf)
    impacted = beyond and worse_by >= ratio_threshold and change >= min_absolute
    reason = f"{shown} is {peak_ratio:.1f}× {name} ({_quantity(base, unit)}){within}"
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
) -> SignalImpact:
    """Compare the incident window's values with each named baseline (e.g. "the same window yesterday").

    `impacted` is True when the window is worse than every baseline that has data, None when
    the window or all baselines are empty (`status="missing"`). NaN values are ignored.
    """
    finite = [v for v in window if not math.isnan(v)]
    if not finite:
        return SignalImpact(signal, "missing", None, None, (), None, f"no data for {signal} in the window")
    peak = max(finite) if higher_is_worse else min(finite)
    mean = math.fsum(finite) / len(finite)
    comparisons = tuple(
        _compare(signal, name, peak, mean, values, higher_is_worse, ratio_threshold, min_absolute, unit)
        for name, values in baselines.items()
    )
    decided = [c for c in comparisons if c.impacted is not None]
    if not decided:
        return SignalImpact(
            signal, "missing", peak, mean, comparisons, None, f"no baseline data for {signal}"
        )
    impacted = all(c.impacted for c in decided)
    verb = "impacted" if impacted else "not impacted"
    reason = f"{verb}: " + "; ".join(c.reason for c in comparisons)
    return SignalImpact(signal, "ok", peak, mean, comparisons, impacted, reason)
