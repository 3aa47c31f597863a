"""An application's health over a period, from its measurements and its SLO targets. Pure, no I/O.

Every objective an application profile may set (`OBJECTIVES`: availability, error rate, p95 and
p99 latency) is measured whether or not the profile sets a target; a target adds compliance,
the error budget consumed and the breach windows, and only objectives with a target make the
verdict (`aiops_mcp.analysis.slo.verdict`).

What is measured, from samples in the queries' own units (fractions, seconds):

- availability: the share of ``up`` samples that were up, over every instance (`slo.uptime`);
- error rate: the whole window's 5xx requests over all its requests (one number);
- pXX latency: the XX-th percentile of every request in the window, from the histogram's
  buckets summed over the whole window (one number, not a percentile of a percentile series).

Error budget consumed (1.0 = all of it, 2.0 = twice over):

- availability: the down share over the allowed down share, ``(100 - measured) / (100 - target)``;
- error rate: the failed share over the allowed failed share, ``measured / target``;
- pXX latency: the share of time the short-window pXX series was over the target, over the share
  the objective allows: ``1 - XX %`` (5 % of the time for p95, 1 % for p99). A 15-minute spike in a
  day uses 15 / 1440 / 5 % ≈ 0.21 of a p95 budget.

Breach windows come from series over time (the 5xx ratio and each latency percentile at the
query's step, ``up`` per instance); at most `MAX_WINDOWS_PER_SIGNAL` per signal are kept, the
longest, in time order, and the rest are counted.
"""

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aiops_mcp.analysis.slo import (
    Sample,
    SLOResult,
    UptimeResult,
    Verdict,
    Window,
    evaluate_slo,
    uptime,
    verdict,
    violation_windows,
)

MAX_WINDOWS_PER_SIGNAL = 10
HealthStatus = Literal["ok", "empty", "truncated", "partial"]


@dataclass(frozen=True, slots=True)
class Objective:
    """One SLO an application profile may set: its field name, unit, and how it is measured.

    `scale` turns the query's unit into the objective's (fractions to %, seconds to ms);
    `quantile` marks a latency percentile; `signal` names its breach windows."""

    name: str
    unit: str
    scale: float
    signal: str
    higher_is_better: bool = False
    quantile: float | None = None


OBJECTIVES: tuple[Objective, ...] = (
    Objective("availability", "%", 100.0, "availability", higher_is_better=True),
    Objective("error_rate", "%", 100.0, "error_rate"),
    Objective("p95_latency_ms", "ms", 1000.0, "p95_latency", quantile=0.95),
    Objective("p99_latency_ms", "ms", 1000.0, "p99_latency", quantile=0.99),
)
"""Every SLO field of the profile schema, in the order results list them."""


@dataclass(frozen=True, slots=True)
class Measurements:
    """What was fetched, in the queries' units; a part whose query failed or did not run is absent.

    `up`: ``up`` samples by instance. `totals`: objective name -> its whole-window value (the 5xx
    share, a latency percentile in seconds; None: no traffic). `series`: objective name -> its
    value over time, for breach windows and the latency budget."""

    up: Mapping[str, Sequence[Sample]]
    totals: Mapping[str, float | None]
    series: Mapping[str, Sequence[Sample]]


@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    """One objective measured; `slo` judges it against the profile's target (None: no target)."""

    objective: Objective
    measured: float | None
    slo: SLOResult | None

    @property
    def target(self) -> float | None:
        return None if self.slo is None else self.slo.target

    @property
    def compliant(self) -> bool | None:
        return None if self.slo is None else self.slo.compliant

    @property
    def budget_consumed(self) -> float | None:
        return None if self.slo is None else self.slo.budget_consumed


@dataclass(frozen=True, slots=True)
class Breach:
    """A breach window of one signal, its peak in the signal's unit."""

    signal: str
    unit: str
    window: Window


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The period's health: uptime, every objective, the breach windows kept (and how many were
    left out), the verdict and the status of the answer."""

    uptime: UptimeResult
    objectives: tuple[ObjectiveResult, ...]
    breaches: tuple[Breach, ...]
    breaches_omitted: int
    verdict: Verdict
    status: HealthStatus


def time_share_above(samples: Sequence[Sample], threshold: float) -> float | None:
    """The share of finite samples above `threshold` (regular samples: the share of time); None if none."""
    finite = [v for _, v in samples if math.isfinite(v)]
    return sum(1 for v in finite if v > threshold) / len(finite) if finite else None


def latency_budget_consumed(samples: Sequence[Sample], threshold: float, quantile: float) -> float | None:
    """A latency percentile's budget: the share of time over `threshold`, over ``1 - quantile``."""
    share = time_share_above(samples, threshold)
    return None if share is None else share / (1 - quantile)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def measure(objective: Objective, target: float | None, up: UptimeResult, m: Measurements) -> ObjectiveResult:
    """The objective's measured value (in its unit) and, with a target, its judgement."""
    raw = up.fraction if objective.higher_is_better else _finite(m.totals.get(objective.name))
    measured = None if raw is None else raw * objective.scale
    if target is None:
        return ObjectiveResult(objective, measured, None)
    slo = evaluate_slo(objective.name, measured, target, higher_is_better=objective.higher_is_better)
    if objective.quantile is not None and measured is not None:
        series = m.series.get(objective.name, ())
        consumed = latency_budget_consumed(series, target / objective.scale, objective.quantile)
        slo = dataclasses.replace(slo, budget_consumed=consumed)
    return ObjectiveResult(objective, measured, slo)


def _kept(signal: str, unit: str, windows: list[Window], scale: float) -> list[Breach]:
    """The signal's longest windows (at most `MAX_WINDOWS_PER_SIGNAL`), in time order, peak scaled."""
    longest = sorted(windows, key=lambda w: -w.duration)[:MAX_WINDOWS_PER_SIGNAL]
    return [
        Breach(signal, unit, dataclasses.replace(w, peak=w.peak * scale))
        for w in sorted(longest, key=lambda w: w.start)
    ]


def evaluate_health(m: Measurements, targets: Mapping[str, float | None], *, failed: bool) -> HealthReport:
    """The report for measurements `m` against `targets` (objective name -> target; absent or None:
    no target). `failed` says a query failed: the status is then partial."""
    up = uptime(m.up)
    results = tuple(measure(o, targets.get(o.name), up, m) for o in OBJECTIVES)
    found: list[tuple[str, str, list[Window], float]] = [
        (f"down {i.instance}", "", list(i.down_windows), 1.0) for i in up.instances
    ]
    for r in results:
        o = r.objective
        if r.target is not None and not o.higher_is_better:
            windows = violation_windows(m.series.get(o.name, ()), r.target / o.scale, above=True)
            found.append((o.signal, o.unit, windows, o.scale))
    breaches = [b for signal, unit, ws, scale in found for b in _kept(signal, unit, ws, scale)]
    omitted = sum(len(ws) for _, _, ws, _ in found) - len(breaches)
    has_data = bool(up.samples or any(r.measured is not None for r in results) or any(m.series.values()))
    judged = verdict([r.slo for r in results if r.slo is not None], has_data)
    status: HealthStatus = (
        "partial" if failed else "empty" if not has_data else "truncated" if omitted else "ok"
    )
    return HealthReport(up, results, tuple(breaches), omitted, judged, status)
