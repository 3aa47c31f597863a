"""A deterministic generated monitoring world with known incidents, and its ground truth.

`build_world(end)` generates `hours` of Prometheus samples ending at `end`, every `interval`
seconds, for three applications and two hosts, with incidents at fixed UTC times on the day
before `end` ("yesterday"). The same seed and `end` always give the same samples, and a sample's
value depends only on the seed and its time relative to the world's first UTC day: worlds built
at different minutes of a day agree on every sample they share, and worlds of equal length built
on different days agree on every sample relative to "yesterday" (so the incidents, their
neighbourhood and their baselines are the same in every run).

Applications (see `World.apps`):
- ``abc-app`` (prod): labels ``app="abc-app", env="prod", job="abc-app"``, instances
  ``abc-1:8080`` and ``abc-2:8080`` on host ``node-1``.
- ``abc-app-staging``: the staging twin, ``app="abc-app", env="staging"``, one instance
  ``abc-staging-1:8080`` on ``node-2``; slightly higher baseline 5xx ratio, no incidents.
- ``checkout``: identified by ``service="checkout", namespace="payments"`` (no ``app`` label),
  ``job="checkout"``, instance ``checkout-1:8080`` on ``node-2``.
Every application series also carries ``instance`` and ``node`` (the host's name).

Incidents (see `World.incidents`), yesterday, UTC, windows ``(start, end]``:
- ``abc-app-5xx-burst`` 14:30-14:45: 5 % of abc-app's requests fail with 5xx (else ~0.2 %).
- ``abc-app-latency`` 14:30-14:45: abc-app's p95 latency rises from ~0.22 s to ~0.96 s.
- ``node-1-cpu`` and ``node-1-memory`` 14:30-14:45: abc-app's host saturates.
- ``abc-2-down`` 03:10-03:16: ``up{instance="abc-2:8080"}`` is 0 (a failed scrape), abc-2's
  other series have no samples, and its container restarts 3 times.
- ``checkout-latency`` 09:00-09:20: checkout's p95 latency rises (errors stay normal).

Families: ``up``; ``http_requests_total{method,status}`` (GET/POST x 200 and GET 500 / POST
503); ``http_request_duration_seconds`` histogram (le 0.1, 0.25, 0.5, 1.0, +Inf; prod apps only);
``process_resident_memory_bytes`` (abc-app prod); ``kube_pod_container_status_restarts_total``
(job ``kube-state-metrics``; prod apps); node exporter families per host (``job="node"``,
``instance="node-N:9100"``): ``node_cpu_seconds_total{cpu,mode}`` (cpus 0-1, modes idle/user),
``node_memory_MemAvailable_bytes``, ``node_memory_MemTotal_bytes``,
``node_disk_{read,written}_bytes_total{device}``,
``node_network_{receive,transmit}_bytes_total{device}``.
Counters never reset (the restart of abc-2 shows only on the restarts counter).

Ground truth. Windows are closed ``[start, end]`` like Prometheus 2.x range selectors, so a
PromQL ``f(x[W])`` evaluated at ``time=end`` sees the samples a ground truth over
``(end - W, end)`` sees. Which answers are exact:
- exact: `World.over_time` (``max/min/sum/count/last_over_time``; ``avg_over_time`` up to float
  rounding, Prometheus sums in another order), `World.value_at`, `World.expected_uptime`
  (``avg(avg_over_time(up{...}[W]))``).
- exact up to float rounding: `World.expected_increase` / `World.expected_rate` with the default
  ``extrapolate=True`` replicate Prometheus 2.x ``increase``/``rate`` extrapolation, summed over
  series (compare with a relative tolerance of 1e-9); `World.expected_error_ratio` and
  `World.expected_quantile` are built on them. With ``extrapolate=False`` they return the raw
  sample difference, which is what PromQL returns only when the window's ends fall on sample
  timestamps of every series (then both agree exactly); otherwise expect up to
  ``interval / (W - interval)`` relative difference (about 5 % for a 5-minute window at 15 s).
- descriptive only: `Incident.peak` (the extreme per-interval value inside the window).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Literal, NamedTuple

LOOKBACK_SECONDS = 300
"""Prometheus' default lookback: an instant query sees a sample at most this old."""

LE_BOUNDS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)
"""Finite histogram bucket bounds of ``http_request_duration_seconds`` (plus ``+Inf``)."""

LE_LABELS: tuple[str, ...] = ("0.1", "0.25", "0.5", "1.0", "+Inf")
"""The ``le`` label values as written (the Prometheus client's canonical form)."""

# Cumulative P(latency <= le) for the finite buckets, and the mean latency in seconds.
_NORMAL_LATENCY = ((0.86, 0.97, 0.993, 0.998), 0.07)
_DEGRADED_LATENCY = ((0.15, 0.45, 0.78, 0.965), 0.5)

_GET_SHARE = 0.7
_INCIDENT_ERROR_RATIO = 0.05

OverTime = Literal["max", "min", "avg", "sum", "count", "last"]
Selector = Mapping[str, str]

FAMILIES: dict[str, tuple[str, str]] = {
    "up": ("gauge", "1 if the last scrape of the target succeeded, 0 if it failed."),
    "http_requests": ("counter", "HTTP requests served, by method and status code."),
    "http_request_duration_seconds": ("histogram", "HTTP request latency in seconds."),
    "process_resident_memory_bytes": ("gauge", "Resident memory size in bytes."),
    "kube_pod_container_status_restarts": ("counter", "Restarts of the container."),
    "node_cpu_seconds": ("counter", "Seconds the CPUs spent in each mode."),
    "node_memory_MemAvailable_bytes": ("gauge", "Memory available in bytes."),
    "node_memory_MemTotal_bytes": ("gauge", "Total memory in bytes."),
    "node_disk_read_bytes": ("counter", "Bytes read from the device."),
    "node_disk_written_bytes": ("counter", "Bytes written to the device."),
    "node_network_receive_bytes": ("counter", "Bytes received on the interface."),
    "node_network_transmit_bytes": ("counter", "Bytes transmitted on the interface."),
}
"""Metric families: OpenMetrics family name -> (type, help). Counter samples end in ``_total``."""


class Series(NamedTuple):
    """One time series: sample name, labels, ascending timestamps (epoch s) and values."""

    name: str
    labels: dict[str, str]
    timestamps: Sequence[int]
    values: Sequence[float]


@dataclass(frozen=True)
class App:
    """One monitored application and the labels that select all of its series."""

    key: str
    selector: dict[str, str]
    instances: tuple[str, ...]
    host: str
    base_rate: float
    error_ratio: float

    @property
    def node(self) -> str:
        """The host's name as in the ``node`` label (``node-1`` for ``node-1:9100``)."""
        return self.host.split(":")[0]


@dataclass(frozen=True)
class Incident:
    """A known incident: what, where (``selector``), when (``(start, end]``) and how bad.

    ``peak`` is the extreme per-interval value of the signal inside the window: the highest
    5xx ratio (kind ``error_ratio``), p95 latency in seconds (``latency_p95``), CPU busy
    fraction (``cpu``), the lowest available-memory fraction (``memory``) or lowest ``up``
    (``down``). ``query`` is a PromQL expression that shows the signal.
    """

    name: str
    app: str
    kind: str
    start: datetime
    end: datetime
    peak: float
    selector: dict[str, str]
    query: str
    description: str


@dataclass(frozen=True)
class _Effects:
    """Incident windows (epoch seconds, ``(start, end]``) that shape the generated samples."""

    errors: dict[str, tuple[int, int]]
    latency: dict[str, tuple[int, int]]
    outage: dict[str, tuple[int, int]]
    host_stress: dict[str, tuple[int, int]]


@dataclass
class World:
    """The generated history and its ground truth. Build it with `build_world`.

    ``end`` is the last sample's time: query Prometheus at ``time=end`` (or up to 5 minutes
    later) and over ranges ending at ``end``.
    """

    end: datetime
    start: datetime
    interval: int
    seed: int
    apps: dict[str, App]
    hosts: tuple[str, ...]
    incidents: list[Incident]
    _series: list[Series] = field(repr=False)

    @property
    def yesterday(self) -> date:
        """The UTC day before ``end``'s day: the day the incidents happened."""
        return (self.end - timedelta(days=1)).date()

    def yesterday_at(self, hour: int, minute: int = 0) -> datetime:
        """An aware UTC datetime on `yesterday` (``hour`` may be 24 for the end of the day)."""
        return datetime.combine(self.yesterday, time(0), UTC) + timedelta(hours=hour, minutes=minute)

    @property
    def sample_count(self) -> int:
        """Total number of samples over all series."""
        return sum(len(s.values) for s in self._series)

    def series(self, name: str | None = None, selector: Selector | None = None) -> Iterator[Series]:
        """Iterate the series, optionally only those named ``name`` whose labels include ``selector``."""
        for s in self._series:
            if (name is None or s.name == name) and _matches(s.labels, selector):
                yield s

    def select(self, name: str, selector: Selector | None = None) -> list[Series]:
        """The series named ``name`` whose labels include every pair of ``selector``."""
        return list(self.series(name, selector))

    def incident(self, name: str) -> Incident:
        """The incident called ``name`` (KeyError if there is none)."""
        for incident in self.incidents:
            if incident.name == name:
                return incident
        raise KeyError(name)

    def selector_of(self, app: str | Selector) -> dict[str, str]:
        """An application's selector from its key (``"abc-app"``), or a selector unchanged."""
        return dict(self.apps[app].selector) if isinstance(app, str) else dict(app)

    def value_at(
        self, name: str, at: datetime, selector: Selector | None = None
    ) -> list[tuple[dict[str, str], float]]:
        """Exact instant-query answer at ``at``: each series' newest sample at most 5 minutes old."""
        result = []
        for s in self.series(name, selector):
            i = bisect.bisect_right(s.timestamps, _epoch(at)) - 1
            if i >= 0 and _epoch(at) - s.timestamps[i] <= LOOKBACK_SECONDS:
                result.append((dict(s.labels), float(s.values[i])))
        return result

    def over_time(
        self, func: OverTime, name: str, start: datetime, end: datetime, selector: Selector | None = None
    ) -> list[tuple[dict[str, str], float]]:
        """``<func>_over_time(name{selector}[end - start])`` at ``end``: one value per series with samples."""
        result = []
        for s in self.series(name, selector):
            values = _window(s, _epoch(start), _epoch(end))[1]
            if values:
                result.append((dict(s.labels), _aggregate(func, values)))
        return result

    def expected_increase(
        self,
        name: str,
        start: datetime,
        end: datetime,
        selector: Selector | None = None,
        *,
        extrapolate: bool = True,
    ) -> float:
        """``sum(increase(name{selector}[end - start]))`` at ``end`` (see the module notes on exactness)."""
        total = 0.0
        for s in self.series(name, selector):
            total += _increase(s, _epoch(start), _epoch(end), extrapolate) or 0.0
        return total

    def expected_rate(
        self,
        name: str,
        start: datetime,
        end: datetime,
        selector: Selector | None = None,
        *,
        extrapolate: bool = True,
    ) -> float:
        """``sum(rate(name{selector}[end - start]))`` at ``end``, per second."""
        return self.expected_increase(name, start, end, selector, extrapolate=extrapolate) / (
            _epoch(end) - _epoch(start)
        )

    def expected_uptime(
        self, app: str | Selector, start: datetime, end: datetime, *, instance: str | None = None
    ) -> float:
        """Exact fraction of ``up`` samples equal to 1 in ``[start, end]`` over the app's instances.

        Equals ``avg(avg_over_time(up{selector}[end - start]))`` at ``end``.
        """
        selector = self.selector_of(app) | ({"instance": instance} if instance else {})
        values = [v for _, v in self.over_time("avg", "up", start, end, selector)]
        if not values:
            raise ValueError(f"no up samples for {selector} in the window")
        return sum(values) / len(values)

    def expected_error_ratio(
        self, app: str | Selector, start: datetime, end: datetime, *, extrapolate: bool = True
    ) -> float:
        """5xx share of requests: ``sum(increase(5xx)) / sum(increase(all))`` over ``[start, end]``."""
        selector = self.selector_of(app)
        errors = 0.0
        for s in self.series("http_requests_total", selector):
            if s.labels["status"].startswith("5"):
                errors += _increase(s, _epoch(start), _epoch(end), extrapolate) or 0.0
        total = self.expected_increase("http_requests_total", start, end, selector, extrapolate=extrapolate)
        return errors / total

    def expected_quantile(
        self, q: float, app: str | Selector, start: datetime, end: datetime, *, extrapolate: bool = True
    ) -> float:
        """``histogram_quantile(q, sum by (le) (increase(..._bucket{selector}[end - start])))`` at ``end``."""
        by_le: dict[str, float] = {}
        for s in self.series("http_request_duration_seconds_bucket", self.selector_of(app)):
            increase = _increase(s, _epoch(start), _epoch(end), extrapolate)
            if increase is not None:
                by_le[s.labels["le"]] = by_le.get(s.labels["le"], 0.0) + increase
        return histogram_quantile(q, [(float(le), count) for le, count in by_le.items()])

    def write_openmetrics(
        self, path: str | Path, since: float | None = None, until: float | None = None
    ) -> int:
        """Write the samples as OpenMetrics text for ``promtool tsdb create-blocks-from openmetrics``.

        One ``# HELP``/``# TYPE`` pair per family (counters named without ``_total``), each
        series' samples contiguous and ascending, timestamps in seconds, then ``# EOF``.
        ``since``/``until`` (epoch s) keep only samples with ``since <= t < until``: promtool
        re-reads its whole input once per 2-hour block, so one file per block is much faster.
        Returns the number of samples written.
        """
        lo, hi = -math.inf if since is None else since, math.inf if until is None else until
        by_family: dict[str, list[Series]] = {}
        for s in self._series:
            by_family.setdefault(family_of(s.name), []).append(s)
        written = 0
        with open(path, "w", encoding="utf-8") as out:
            for family, members in by_family.items():
                kind, help_text = FAMILIES[family]
                out.write(f"# HELP {family} {help_text}\n# TYPE {family} {kind}\n")
                for s in members:
                    lines, count = _openmetrics_lines(s, lo, hi)
                    out.write(lines)
                    written += count
            out.write("# EOF\n")
        return written


def build_world(end: datetime, hours: int = 72, interval: int = 15, seed: int = 7) -> World:
    """Generate the world: ``hours`` of samples every ``interval`` s, the last one at ``end``.

    ``end`` must be timezone-aware (it is converted to UTC) and is typically now floored to the
    minute. The window must cover the whole previous UTC day, where the incidents are; the default
    72 h also covers the day before it, the baseline "same window the previous day". Samples are
    generated from 00:00 UTC of the first day and cut to the window, so they do not depend on
    ``end``'s time of day (for ends on the ``interval`` grid).
    """
    end_ts, grid = _grid(end, hours, interval)
    day0 = _day_start(end_ts) - 86400
    if grid[0] > day0:
        raise ValueError(f"{hours} h before {end.isoformat()} do not cover the whole previous UTC day")
    apps = _apps()
    effects = _effects(day0)
    noise = _Noise(seed)
    # Generated from 00:00 UTC of the first day, then cut: a sample's value depends on its time
    # and the seed, not on the minute the world was built (see `_Noise`).
    full = _anchored(grid, interval)
    series = [s for app in apps.values() for s in _app_series(app, full, interval, effects, noise)]
    series += _restart_series(apps, full, effects)
    for host in ("node-1:9100", "node-2:9100"):
        series += _node_series(host, full, interval, effects.host_stress.get(host), noise)
    series = [_since(s, grid[0]) for s in series]
    series.sort(key=lambda s: list(FAMILIES).index(family_of(s.name)))
    world = World(
        end=_dt(end_ts),
        start=_dt(grid[0]),
        interval=interval,
        seed=seed,
        apps=apps,
        hosts=("node-1:9100", "node-2:9100"),
        incidents=[],
        _series=series,
    )
    world.incidents.extend(_incidents(world, effects))
    return world


def family_of(name: str) -> str:
    """The OpenMetrics family of a sample name (``http_requests_total`` -> ``http_requests``)."""
    if name in FAMILIES:
        return name
    for suffix in ("_total", "_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name.removesuffix(suffix) in FAMILIES:
            return name.removesuffix(suffix)
    raise KeyError(name)


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """PromQL's ``histogram_quantile`` over (upper bound, cumulative count) pairs, +Inf included."""
    ordered = sorted(buckets)
    if not ordered or not math.isinf(ordered[-1][0]) or ordered[-1][1] == 0 or len(ordered) < 2:
        return math.nan
    if q < 0 or q > 1:
        return -math.inf if q < 0 else math.inf
    rank = q * ordered[-1][1]
    b = next((i for i, (_, count) in enumerate(ordered[:-1]) if count >= rank), len(ordered) - 1)
    if b == len(ordered) - 1:
        return ordered[-2][0]
    if b == 0 and ordered[0][0] <= 0:
        return ordered[0][0]
    lower, below = (0.0, 0.0) if b == 0 else ordered[b - 1]
    upper, count = ordered[b]
    return lower + (upper - lower) * ((rank - below) / (count - below))


# --- layout -------------------------------------------------------------------------------


def _apps() -> dict[str, App]:
    """The applications, in generation order."""
    abc = {"app": "abc-app", "env": "prod", "job": "abc-app"}
    staging = {"app": "abc-app", "env": "staging", "job": "abc-app"}
    checkout = {"service": "checkout", "namespace": "payments", "env": "prod", "job": "checkout"}
    return {
        "abc-app": App("abc-app", abc, ("abc-1:8080", "abc-2:8080"), "node-1:9100", 20.0, 0.002),
        "checkout": App("checkout", checkout, ("checkout-1:8080",), "node-2:9100", 12.0, 0.002),
        "abc-app-staging": App(
            "abc-app-staging", staging, ("abc-staging-1:8080",), "node-2:9100", 2.0, 0.005
        ),
    }


def _effects(day0: int) -> _Effects:
    """Incident windows relative to the start of yesterday (``day0``, epoch s)."""

    def at(hour: int, minute: int, minutes: int) -> tuple[int, int]:
        start = day0 + hour * 3600 + minute * 60
        return (start, start + minutes * 60)

    burst = at(14, 30, 15)
    return _Effects(
        errors={"abc-app": burst},
        latency={"abc-app": burst, "checkout": at(9, 0, 20)},
        outage={"abc-2:8080": at(3, 10, 6)},
        host_stress={"node-1:9100": burst},
    )


def _incidents(world: World, fx: _Effects) -> list[Incident]:
    """The incident list, peaks computed from the generated samples."""
    abc, checkout = world.apps["abc-app"], world.apps["checkout"]
    node = {"instance": "node-1:9100"}
    stress = fx.host_stress["node-1:9100"]
    down = abc.selector | {"instance": "abc-2:8080"}
    text = {
        "abc-app-5xx-burst": "5 % of abc-app's requests fail with HTTP 5xx",
        "abc-app-latency": "abc-app's p95 latency rises during the 5xx burst",
        "node-1-cpu": "abc-app's host node-1 CPU saturates",
        "node-1-memory": "abc-app's host node-1 runs low on available memory",
        "abc-2-down": "abc-2 stops answering scrapes (up=0) and its container restarts 3 times",
        "checkout-latency": "checkout's p95 latency breaches while errors stay normal",
    }
    specs = [
        ("abc-app-5xx-burst", abc, "error_ratio", fx.errors["abc-app"], abc.selector),
        ("abc-app-latency", abc, "latency_p95", fx.latency["abc-app"], abc.selector),
        ("node-1-cpu", abc, "cpu", stress, node),
        ("node-1-memory", abc, "memory", stress, node),
        ("abc-2-down", abc, "down", fx.outage["abc-2:8080"], down),
        ("checkout-latency", checkout, "latency_p95", fx.latency["checkout"], checkout.selector),
    ]
    return [
        Incident(
            name,
            app.key,
            kind,
            _dt(w[0]),
            _dt(w[1]),
            _peak(world, kind, sel, w),
            dict(sel),
            _query(kind, sel),
            text[name],
        )
        for name, app, kind, w, sel in specs
    ]


def _query(kind: str, selector: Selector) -> str:
    """A PromQL expression that shows the incident's signal."""
    sel = ",".join(f'{k}="{v}"' for k, v in selector.items())
    return {
        "error_ratio": f'sum(rate(http_requests_total{{{sel},status=~"5.."}}[5m]))'
        f" / sum(rate(http_requests_total{{{sel}}}[5m]))",
        "latency_p95": "histogram_quantile(0.95, sum by (le) "
        f"(rate(http_request_duration_seconds_bucket{{{sel}}}[5m])))",
        "cpu": f'1 - avg(rate(node_cpu_seconds_total{{{sel},mode="idle"}}[5m]))',
        "memory": f"node_memory_MemAvailable_bytes{{{sel}}} / node_memory_MemTotal_bytes{{{sel}}}",
        "down": f"up{{{sel}}}",
    }[kind]


def _peak(world: World, kind: str, selector: Selector, window: tuple[int, int]) -> float:
    """The extreme per-interval value of the incident's signal inside ``(start, end]``."""
    steps, selector = _Steps(world, window), dict(selector)
    if kind == "error_ratio":
        total = steps.increments("http_requests_total", selector)
        errors = steps.increments("http_requests_total", selector, lambda labels: labels["status"][0] == "5")
        return max(errors.get(t, 0.0) / n for t, n in total.items() if n > 0)
    if kind == "latency_p95":
        return max(histogram_quantile(0.95, b) for b in steps.buckets(selector).values())
    if kind == "cpu":
        idle = steps.increments("node_cpu_seconds_total", selector | {"mode": "idle"})
        cpus = len(world.select("node_cpu_seconds_total", selector | {"mode": "idle"}))
        return max(1 - v / (cpus * world.interval) for v in idle.values())
    if kind == "memory":
        avail = steps.gauge("node_memory_MemAvailable_bytes", selector)
        total = steps.gauge("node_memory_MemTotal_bytes", selector)
        return min(avail[t] / total[t] for t in avail)
    return min(steps.gauge("up", selector).values())


class _Steps:
    """Per-interval views of the samples whose timestamp lies in ``(start, end]``."""

    def __init__(self, world: World, window: tuple[int, int]) -> None:
        self.world, self.start, self.end = world, window[0], window[1]

    def increments(
        self, name: str, selector: Selector, keep: Callable[[Mapping[str, str]], bool] | None = None
    ) -> dict[int, float]:
        """Counter increase per step, summed over matching series (``keep(labels)`` filters)."""
        out: dict[int, float] = {}
        for s in self.world.series(name, selector):
            if keep is not None and not keep(s.labels):
                continue
            for i in range(1, len(s.timestamps)):
                t = s.timestamps[i]
                if self.start < t <= self.end and t - s.timestamps[i - 1] == self.world.interval:
                    out[t] = out.get(t, 0.0) + s.values[i] - s.values[i - 1]
        return out

    def buckets(self, selector: Selector) -> dict[int, list[tuple[float, float]]]:
        """Per step: (le, increase) pairs summed by ``le``."""
        name = "http_request_duration_seconds_bucket"
        out: dict[int, list[tuple[float, float]]] = {}
        for le in LE_LABELS:
            for t, v in self.increments(name, dict(selector) | {"le": le}).items():
                out.setdefault(t, []).append((float(le), v))
        return out

    def gauge(self, name: str, selector: Selector) -> dict[int, float]:
        """The gauge's samples in the window (one matching series expected)."""
        out: dict[int, float] = {}
        for s in self.world.series(name, selector):
            for t, v in zip(*_window(s, self.start + 1, self.end), strict=True):
                out[t] = v
        return out


# --- generation ---------------------------------------------------------------------------


def _grid(end: datetime, hours: int, interval: int) -> tuple[int, list[int]]:
    """The sample timestamps: every ``interval`` s, the last one at ``end``."""
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    if interval <= 0 or (hours * 3600) % interval:
        raise ValueError("interval must divide the window")
    end_ts = int(end.astimezone(UTC).timestamp())
    n = hours * 3600 // interval
    return end_ts, [end_ts - (n - 1 - i) * interval for i in range(n)]


def _anchored(grid: list[int], interval: int) -> list[int]:
    """`grid` extended back, on its own phase, to 00:00 UTC of the day it starts on."""
    back = (grid[0] - _day_start(grid[0])) // interval
    return [grid[0] - k * interval for k in range(back, 0, -1)] + grid


def _since(series: Series, start: int) -> Series:
    """The series without its samples before `start`."""
    cut = bisect.bisect_left(series.timestamps, start)
    return Series(series.name, series.labels, series.timestamps[cut:], series.values[cut:])


@dataclass(frozen=True)
class _Noise:
    """Random draws for the generator, one independent stream per series.

    A stream is seeded by the world's seed and the series' names alone, and every stream starts
    at 00:00 UTC of the world's first day: a sample's noise then depends only on its time
    relative to that day, the same whichever minute the world ends at (and the incidents sit at
    fixed times on a later day, so their neighbourhood is the same in every world).
    """

    seed: int

    def stream(self, *names: str) -> random.Random:
        return random.Random(":".join((str(self.seed), *names)))


def _app_series(app: App, grid: list[int], interval: int, fx: _Effects, noise: _Noise) -> list[Series]:
    """Every series of one application: per instance up, requests, latency and memory."""
    out: list[Series] = []
    for instance in app.instances:
        labels = app.selector | {"instance": instance, "node": app.node}
        outage = fx.outage.get(instance)
        up = [0.0 if outage and _active(t, outage) else 1.0 for t in grid]
        present = [t for t, u in zip(grid, up, strict=True) if u]
        stream = partial(noise.stream, app.key, instance)
        totals = _request_totals(app, grid, interval, up, stream("requests"))
        scraped = _http_series(app, labels, grid, totals, fx.errors.get(app.key), stream("http"))
        if app.selector["env"] == "prod":
            latency = fx.latency.get(app.key)
            scraped += _histogram_series(labels, grid, totals, latency, stream("latency"))
        if app.key == "abc-app":
            scraped.append(_memory_series(labels, grid, fx.errors.get(app.key), stream("memory")))
        out.append(Series("up", labels, grid, up))
        out += [_drop_missing(s, present) for s in scraped]
    return out


def _request_totals(
    app: App, grid: list[int], interval: int, up: list[float], rng: random.Random
) -> list[int]:
    """Requests served in each step (none while the instance is down)."""
    return [
        max(0, round(app.base_rate * _diurnal(t) * interval * (1 + rng.gauss(0, 0.05)))) if u else 0
        for t, u in zip(grid, up, strict=True)
    ]


def _http_series(
    app: App,
    labels: dict[str, str],
    grid: list[int],
    totals: list[int],
    errors: tuple[int, int] | None,
    rng: random.Random,
) -> list[Series]:
    """``http_requests_total`` for GET 200/500 and POST 200/503 from per-step totals."""
    history = app.base_rate * 86400 * rng.uniform(0.5, 1.5)
    get_n, post_n = round(history * _GET_SHARE), round(history * (1 - _GET_SHARE))
    get_e, post_e = get_n * app.error_ratio, post_n * app.error_ratio
    columns: list[list[float]] = [[], [], [], []]
    for t, n in zip(grid, totals, strict=True):
        p = _INCIDENT_ERROR_RATIO if errors and _active(t, errors) else app.error_ratio
        get = round(n * _GET_SHARE)
        get_n, post_n = get_n + get, post_n + n - get
        get_e, post_e = get_e + get * p, post_e + (n - get) * p
        # Flooring the running expected error count keeps every counter integral and monotonic.
        get_err, post_err = math.floor(get_e), math.floor(post_e)
        values = (get_n - get_err, get_err, post_n - post_err, post_err)
        for column, value in zip(columns, values, strict=True):
            column.append(float(value))
    combos = (("GET", "200"), ("GET", "500"), ("POST", "200"), ("POST", "503"))
    return [
        Series("http_requests_total", labels | {"method": m, "status": s}, grid, column)
        for (m, s), column in zip(combos, columns, strict=True)
    ]


def _histogram_series(
    labels: dict[str, str],
    grid: list[int],
    totals: list[int],
    latency: tuple[int, int] | None,
    rng: random.Random,
) -> list[Series]:
    """``http_request_duration_seconds`` buckets, sum and count from per-step totals."""
    count = round(rng.uniform(0.5, 1.5) * 1e6)
    expected = [count * p for p in _NORMAL_LATENCY[0]]
    total_time = count * _NORMAL_LATENCY[1]
    columns: list[list[float]] = [[] for _ in LE_LABELS]
    sums: list[float] = []
    for t, n in zip(grid, totals, strict=True):
        shares, mean = _DEGRADED_LATENCY if latency and _active(t, latency) else _NORMAL_LATENCY
        count += n
        expected = [e + n * p for e, p in zip(expected, shares, strict=True)]
        total_time += n * mean * (1 + rng.gauss(0, 0.05))
        for column, value in zip(columns, [*map(math.floor, expected), count], strict=True):
            column.append(float(value))
        sums.append(round(total_time, 3))
    name = "http_request_duration_seconds"
    return [
        *(
            Series(f"{name}_bucket", labels | {"le": le}, grid, c)
            for le, c in zip(LE_LABELS, columns, strict=True)
        ),
        Series(f"{name}_sum", labels, grid, sums),
        Series(f"{name}_count", labels, grid, columns[-1]),
    ]


def _memory_series(
    labels: dict[str, str], grid: list[int], stress: tuple[int, int] | None, rng: random.Random
) -> Series:
    """``process_resident_memory_bytes``: a slow sawtooth, higher during the stress window."""
    values = []
    for t in grid:
        base = 180e6 + 40e6 * ((t % 7200) / 7200) + rng.gauss(0, 2e6)
        values.append(float(round(base + (250e6 if stress and _active(t, stress) else 0))))
    return Series("process_resident_memory_bytes", labels, grid, values)


def _restart_series(apps: dict[str, App], grid: list[int], fx: _Effects) -> list[Series]:
    """``kube_pod_container_status_restarts_total`` for the prod apps' pods (3 restarts per outage)."""
    name = "kube_pod_container_status_restarts_total"
    ksm = {"job": "kube-state-metrics", "instance": "kube-state-metrics:8080"}
    out = []
    for app in (apps["abc-app"], apps["checkout"]):
        for instance in app.instances:
            pod = {"pod": instance.split(":")[0], "container": app.key}
            labels = {"namespace": "shop"} | app.selector | ksm | pod
            out.append(Series(name, labels, grid, _restarts(grid, fx.outage.get(instance))))
    return out


def _restarts(grid: list[int], outage: tuple[int, int] | None) -> list[float]:
    """Restart count: +1 at 1, 3 and 5 minutes into the outage."""
    if outage is None:
        return [0.0] * len(grid)
    marks = [outage[0] + 60, outage[0] + 180, outage[0] + 300]
    return [float(sum(1 for m in marks if m <= t)) for t in grid]


def _node_series(
    host: str, grid: list[int], interval: int, stress: tuple[int, int] | None, noise: _Noise
) -> list[Series]:
    """Node exporter series for one host: CPU, memory, disk and network."""
    labels = {"job": "node", "instance": host}
    total_memory = 16 * 2**30 if host.startswith("node-1") else 8 * 2**30
    out = _cpu_series(labels, grid, interval, stress, partial(noise.stream, host, "cpu"))
    rng = noise.stream(host, "memory")
    available = []
    for t in grid:
        share = 0.12 + rng.gauss(0, 0.01) if stress and _active(t, stress) else 0.55 - 0.1 * (_diurnal(t) - 1)
        available.append(float(round(total_memory * (share + rng.gauss(0, 0.01)))))
    out.append(Series("node_memory_MemAvailable_bytes", labels, grid, available))
    out.append(Series("node_memory_MemTotal_bytes", labels, grid, [float(total_memory)] * len(grid)))
    for name, device, rate in (
        ("node_disk_read_bytes_total", "vda", 1.5e6),
        ("node_disk_written_bytes_total", "vda", 3e6),
        ("node_network_receive_bytes_total", "eth0", 4e6),
        ("node_network_transmit_bytes_total", "eth0", 6e6),
    ):
        out.append(
            Series(
                name,
                labels | {"device": device},
                grid,
                _byte_counter(grid, interval, rate, stress, noise.stream(host, name, device)),
            )
        )
    return out


def _cpu_series(
    labels: dict[str, str],
    grid: list[int],
    interval: int,
    stress: tuple[int, int] | None,
    stream: Callable[[str], random.Random],
) -> list[Series]:
    """``node_cpu_seconds_total`` for cpus 0 and 1, modes idle and user (the rest is unexported)."""
    out = []
    for cpu in ("0", "1"):
        rng = stream(cpu)
        idle, user = 3e6 * rng.uniform(0.9, 1.1), 4e5 * rng.uniform(0.9, 1.1)
        idles, users = [], []
        for t in grid:
            busy = 0.92 if stress and _active(t, stress) else 0.2 * _diurnal(t)
            busy = min(0.97, max(0.02, busy + rng.gauss(0, 0.02)))
            user += busy * interval
            idle += (0.98 - busy) * interval
            idles.append(round(idle, 2))
            users.append(round(user, 2))
        out.append(Series("node_cpu_seconds_total", labels | {"cpu": cpu, "mode": "idle"}, grid, idles))
        out.append(Series("node_cpu_seconds_total", labels | {"cpu": cpu, "mode": "user"}, grid, users))
    return out


def _byte_counter(
    grid: list[int], interval: int, rate: float, stress: tuple[int, int] | None, rng: random.Random
) -> list[float]:
    """A monotonic byte counter around ``rate`` bytes/s (daily shape), doubled during the stress window."""
    value = rate * 86400 * rng.uniform(1, 3)
    out = []
    for t in grid:
        factor = _diurnal(t) * (2.0 if stress and _active(t, stress) else 1.0)
        value += rate * factor * interval * max(0.0, 1 + rng.gauss(0, 0.1))
        out.append(float(math.floor(value)))
    return out


def _drop_missing(series: Series, present: list[int]) -> Series:
    """The series restricted to ``present`` timestamps (no samples while a scrape fails)."""
    if len(present) == len(series.timestamps):
        return series
    keep = set(present)
    pairs = [(t, v) for t, v in zip(series.timestamps, series.values, strict=True) if t in keep]
    return Series(series.name, series.labels, [t for t, _ in pairs], [v for _, v in pairs])


def _diurnal(t: int) -> float:
    """Daily traffic shape: 1 on average, highest (1.35) at 15:00 UTC, lowest at 03:00."""
    return 1 + 0.35 * math.sin(2 * math.pi * ((t % 86400) / 86400 - 0.375))


# --- ground-truth helpers -----------------------------------------------------------------


def _window(series: Series, start: float, end: float) -> tuple[Sequence[int], Sequence[float]]:
    """The samples with ``start <= t <= end``."""
    lo = bisect.bisect_left(series.timestamps, start)
    hi = bisect.bisect_right(series.timestamps, end)
    return series.timestamps[lo:hi], series.values[lo:hi]


def _increase(series: Series, start: float, end: float, extrapolate: bool) -> float | None:
    """Prometheus 2.x ``increase`` over ``[start, end]`` (None with fewer than two samples)."""
    ts, vs = _window(series, start, end)
    if len(ts) < 2:
        return None
    result = vs[-1] - vs[0] + sum(prev for prev, cur in itertools.pairwise(vs) if cur < prev)
    if not extrapolate:
        return result
    sampled = float(ts[-1] - ts[0])
    average = sampled / (len(ts) - 1)
    to_start, to_end = ts[0] - start, end - ts[-1]
    if result > 0 and vs[0] >= 0:
        to_start = min(to_start, sampled * (vs[0] / result))
    threshold = average * 1.1
    extended = sampled
    extended += to_start if to_start < threshold else average / 2
    extended += to_end if to_end < threshold else average / 2
    return result * (extended / sampled)


def _aggregate(func: OverTime, values: Sequence[float]) -> float:
    """One ``*_over_time`` aggregate of a non-empty window."""
    if func == "max":
        return max(values)
    if func == "min":
        return min(values)
    if func == "avg":
        return sum(values) / len(values)
    if func == "sum":
        return math.fsum(values)
    if func == "count":
        return float(len(values))
    return values[-1]


def _matches(labels: Mapping[str, str], selector: Selector | None) -> bool:
    """Whether ``labels`` include every pair of ``selector``."""
    return selector is None or all(labels.get(k) == v for k, v in selector.items())


def _active(t: int, window: tuple[int, int]) -> bool:
    """Whether the step ending at ``t`` belongs to the window ``(start, end]``."""
    return window[0] < t <= window[1]


def _epoch(moment: datetime) -> float:
    """Epoch seconds of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.timestamp()


def _dt(epoch: float) -> datetime:
    """Aware UTC datetime from epoch seconds."""
    return datetime.fromtimestamp(epoch, UTC)


def _day_start(epoch: int) -> int:
    """Epoch seconds of 00:00 UTC on the day of ``epoch``."""
    return epoch - epoch % 86400


def _openmetrics_lines(series: Series, since: float, until: float) -> tuple[str, int]:
    """The OpenMetrics sample lines of one series with ``since <= t < until``, and their count."""
    head = series.name + "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in series.labels.items()) + "} "
    lo = bisect.bisect_left(series.timestamps, since)
    hi = bisect.bisect_left(series.timestamps, until)
    pairs = zip(series.timestamps[lo:hi], series.values[lo:hi], strict=True)
    return "".join(f"{head}{_format_value(v)} {t}\n" for t, v in pairs), hi - lo


def _format_value(value: float) -> str:
    """Shortest exact text of a sample value (integers without a fraction)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _escape(value: str) -> str:
    """Escape a label value for the text formats."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
