"""Health against service-level objectives: uptime, breach windows, error budgets and a verdict.

Pure functions over (unix seconds, value) samples; they never do I/O. The sample interval is
inferred from the data (the median gap between consecutive samples), so a window's `end` is the
last breaching sample plus one interval: 15 breaching one-minute samples make a 15-minute window.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from aiops_mcp.analysis.series import percentile

Sample = tuple[float, float]
VerdictStatus = Literal["healthy", "degraded", "unhealthy", "no data"]

# A breached SLO whose budget is consumed at most this many times over makes the day "degraded";
# beyond it (or with no budget to measure against) the day is "unhealthy".
DEGRADED_MAX_CONSUMED = 2.0
# A gap between samples longer than this many intervals is missing data: it ends a run, because a
# scrape that did not happen proves neither health nor breach.
MAX_GAP_INTERVALS = 1.5


@dataclass(frozen=True, slots=True)
class Window:
    """A maximal run of breaching samples, [start, end), with its worst value and when it was seen."""

    start: float
    end: float
    peak: float
    peak_at: float
    duration: float


def sample_interval(samples: Sequence[Sample]) -> float:
    """The typical step between samples (median positive gap); 0 with fewer than two timestamps."""
    gaps = sorted(b[0] - a[0] for a, b in pairwise(samples) if b[0] > a[0])
    return percentile(gaps, 0.5) if gaps else 0.0


def violation_windows(
    samples: Sequence[Sample], threshold: float, *, above: bool, min_duration: float = 0
) -> list[Window]:
    """Maximal runs of consecutive samples breaching `threshold` (> when `above`, < otherwise).

    NaN samples and gaps longer than 1.5 intervals break a run. `peak` is the most extreme
    breaching value (the max when `above`, the min otherwise). Windows shorter than
    `min_duration` seconds are dropped.
    """
    ordered = sorted(samples, key=lambda s: s[0])
    interval = sample_interval(ordered)
    windows: list[Window] = []
    run: list[Sample] = []

    def close() -> None:
        if not run:
            return
        peak_at, peak = (max if above else min)(run, key=lambda s: s[1])
        start, end = run[0][0], run[-1][0] + interval
        if end - start >= min_duration:
            windows.append(Window(start, end, peak, peak_at, end - start))
        run.clear()

    for t, v in ordered:
        breaching = not math.isnan(v) and (v > threshold if above else v < threshold)
        if run and (not breaching or t - run[-1][0] > MAX_GAP_INTERVALS * interval):
            close()
        if breaching:
            run.append((t, v))
    close()
    return windows


@dataclass(frozen=True, slots=True)
class InstanceUptime:
    """Uptime of one instance: counted samples (NaN skipped), up samples and its down windows."""

    instance: str
    samples: int
    up_samples: int
    fraction: float | None
    percent: float | None
    down_windows: tuple[Window, ...]


@dataclass(frozen=True, slots=True)
class UptimeResult:
    """Uptime across instances (the fraction of all samples that were up) and per instance."""

    samples: int
    up_samples: int
    fraction: float | None
    percent: float | None
    instances: tuple[InstanceUptime, ...]


def uptime(samples_by_instance: Mapping[str, Sequence[Sample]]) -> UptimeResult:
    """Uptime from `up` samples (1 = up, anything lower = down); NaN samples are not counted.

    Fractions are None when there is no sample at all (no data, not 0 % up).
    """
    instances = []
    for name, samples in sorted(samples_by_instance.items()):
        finite = [v for _, v in samples if not math.isnan(v)]
        up = sum(1 for v in finite if v >= 1)
        fraction = up / len(finite) if finite else None
        instances.append(
            InstanceUptime(
                instance=name,
                samples=len(finite),
                up_samples=up,
                fraction=fraction,
                percent=None if fraction is None else 100 * fraction,
                down_windows=tuple(violation_windows(samples, 1.0, above=False)),
            )
        )
    total = sum(i.samples for i in instances)
    up_total = sum(i.up_samples for i in instances)
    fraction = up_total / total if total else None
    return UptimeResult(
        samples=total,
        up_samples=up_total,
        fraction=fraction,
        percent=None if fraction is None else 100 * fraction,
        instances=tuple(instances),
    )


@dataclass(frozen=True, slots=True)
class BudgetResult:
    """An error budget: the bad fraction allowed, the bad fraction seen, and how much was used.

    `consumed_fraction` is 1.0 when exactly the whole budget was used, 2.0 when twice over; it is
    None when the target allows no bad at all (100 %) yet some was seen.
    """

    target_percent: float
    allowed_bad_fraction: float
    measured_bad_fraction: float
    consumed_fraction: float | None
    remaining_fraction: float | None


def error_budget(slo_target_percent: float, measured_good_fraction: float) -> BudgetResult:
    """The budget of a "good fraction" SLO: a 99.9 % target with 99.8 % good is 200 % consumed."""
    if not 0 < slo_target_percent <= 100:
        raise ValueError(f"SLO target must be in (0, 100] percent, got {slo_target_percent}")
    if not 0 <= measured_good_fraction <= 1:
        raise ValueError(f"good fraction must be in [0, 1], got {measured_good_fraction}")
    allowed = 1 - slo_target_percent / 100
    bad = 1 - measured_good_fraction
    if allowed > 0:
        consumed: float | None = bad / allowed
    else:
        consumed = 0.0 if bad == 0 else None
    return BudgetResult(
        target_percent=slo_target_percent,
        allowed_bad_fraction=allowed,
        measured_bad_fraction=bad,
        consumed_fraction=consumed,
        remaining_fraction=None if consumed is None else 1 - consumed,
    )


@dataclass(frozen=True, slots=True)
class SLOResult:
    """One objective checked against its measurement.

    `margin` is the headroom in the objective's unit (negative when breached). `budget_consumed`
    is how many times over the allowance the measurement went: for a higher-is-better percentage
    target (availability) the error budget consumed (`error_budget`); for a lower-is-better target
    (the error rate: the failed share over the allowed one) measured / target. Latency percentiles
    measure their budget in time instead (`aiops_mcp.analysis.health.latency_budget_consumed`).
    It is None when it cannot be measured (no data, zero allowance).
    """

    name: str
    measured: float | None
    target: float
    higher_is_better: bool
    compliant: bool | None
    margin: float | None
    budget_consumed: float | None


def evaluate_slo(name: str, measured: float | None, target: float, *, higher_is_better: bool) -> SLOResult:
    """Whether `measured` meets `target`; a None or NaN measurement gives `compliant=None`."""
    if measured is None or math.isnan(measured):
        return SLOResult(name, None, target, higher_is_better, None, None, None)
    margin = measured - target if higher_is_better else target - measured
    consumed: float | None = None
    if higher_is_better:
        if 0 < target <= 100 and 0 <= measured <= 100:
            consumed = error_budget(target, measured / 100).consumed_fraction
    elif target > 0:
        consumed = measured / target
    return SLOResult(name, measured, target, higher_is_better, margin >= 0, margin, consumed)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The health verdict and the reason for it; `status` is None when there are no SLOs."""

    status: VerdictStatus | None
    reason: str


def verdict(slo_results: Sequence[SLOResult], has_data: bool) -> Verdict:
    """One word for the period, by this rule, in order:

    - no data at all (`has_data` false, or no SLO had a measurement) -> "no data";
    - no SLOs defined -> status None: measurements without a verdict;
    - every measured SLO compliant -> "healthy";
    - every breached SLO consumed at most 2x its budget -> "degraded";
    - otherwise (a breach over 2x, or one with no measurable budget) -> "unhealthy".
    SLOs without a measurement do not count, and are named in the reason.
    """
    if not has_data:
        return Verdict("no data", "no samples in the period")
    if not slo_results:
        return Verdict(None, "no SLOs defined: measurements without a verdict")
    measured = [r for r in slo_results if r.compliant is not None]
    unmeasured = [r.name for r in slo_results if r.compliant is None]
    note = f"; no data for {', '.join(unmeasured)}" if unmeasured else ""
    if not measured:
        return Verdict("no data", f"no SLO had a measurement{note}")
    breached = [r for r in measured if not r.compliant]
    if not breached:
        return Verdict("healthy", f"all {len(measured)} measured SLOs met{note}")
    names = ", ".join(r.name for r in breached)
    # Rounded so that float noise (0.2 / 0.1 = 2.0000000000000004) cannot flip exactly 2x.
    severe = [
        r
        for r in breached
        if r.budget_consumed is None or round(r.budget_consumed, 9) > DEGRADED_MAX_CONSUMED
    ]
    if severe:
        return Verdict(
            "unhealthy",
            f"breached: {names}; over {DEGRADED_MAX_CONSUMED:g}x budget: "
            f"{', '.join(r.name for r in severe)}{note}",
        )
    return Verdict("degraded", f"breached within {DEGRADED_MAX_CONSUMED:g}x budget: {names}{note}")
