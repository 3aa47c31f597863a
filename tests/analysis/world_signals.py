"""The signals `incident_impact` queries, computed from a generated world without Prometheus.

Each function evaluates, at one instant ``t`` (unix seconds on the 15 s sample grid), what the
tool's PromQL answers there, from the world's ground-truth helpers: ``rate(x[30s])`` over the
closed window ``[t - 30, t]`` (three samples, no extrapolation on the grid), instant gauges with
the 5-minute lookback. ``None`` where the query has no point (no series with two samples)."""

import dataclasses
import math
from collections.abc import Callable
from datetime import UTC, datetime

from aiops_mcp.demo.world import LE_LABELS, World, histogram_quantile

RATE_WINDOW = 30
Signal = Callable[[World, float], float | None]


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def narrowed(world: World, selector: dict[str, str]) -> World:
    """The world with only the series whose labels include `selector` (faster lookups)."""
    kept = [s for s in world.series() if s.labels.items() >= selector.items()]
    return dataclasses.replace(world, _series=kept)


def sum_rate(world: World, name: str, selector: dict[str, str], t: float) -> float | None:
    """``sum(rate(name{selector}[30s]))`` at `t`; None when no series has two samples in the window."""
    start, end = _dt(t - RATE_WINDOW), _dt(t)
    counted = world.over_time("count", name, start, end, selector)
    if not any(count >= 2 for _, count in counted):
        return None
    return world.expected_rate(name, start, end, selector)


def _series_with_rates(world: World, name: str, selector: dict[str, str], t: float) -> int:
    counted = world.over_time("count", name, _dt(t - RATE_WINDOW), _dt(t), selector)
    return sum(1 for _, count in counted if count >= 2)


def host_signals(instance: str) -> dict[str, Signal]:
    """CPU busy %, memory used %, disk and network bytes/s of one node exporter target."""
    node = {"instance": instance}

    def cpu(world: World, t: float) -> float | None:
        idle = node | {"mode": "idle"}
        total, cpus = (
            sum_rate(world, "node_cpu_seconds_total", idle, t),
            _series_with_rates(world, "node_cpu_seconds_total", idle, t),
        )
        return None if total is None else 100 * (1 - total / cpus)

    def memory(world: World, t: float) -> float | None:
        available = world.value_at("node_memory_MemAvailable_bytes", _dt(t), node)
        total = world.value_at("node_memory_MemTotal_bytes", _dt(t), node)
        if not available or not total:
            return None
        return 100 * (1 - sum(v for _, v in available) / sum(v for _, v in total))

    def bytes_rate(*counters: str) -> Signal:
        def signal(world: World, t: float) -> float | None:
            rates = [sum_rate(world, f"node_{c}_bytes_total", node, t) for c in counters]
            return None if any(r is None for r in rates) else math.fsum(r for r in rates if r is not None)

        return signal

    return {
        "cpu_busy": cpu,
        "memory_used": memory,
        "disk_io": bytes_rate("disk_read", "disk_written"),
        "network": bytes_rate("network_receive", "network_transmit"),
    }


def app_signals(selector: dict[str, str]) -> dict[str, Signal]:
    """Availability %, 5xx ratio % and p95 latency ms of an app's series."""

    def availability(world: World, t: float) -> float | None:
        ups = [v for _, v in world.value_at("up", _dt(t), selector)]
        return 100 * sum(ups) / len(ups) if ups else None

    def error_ratio(world: World, t: float) -> float | None:
        total = sum_rate(world, "http_requests_total", selector, t)
        if not total:  # no point, or 0/0 (NaN: dropped as the tool drops it)
            return None
        errors = [sum_rate(world, "http_requests_total", selector | {"status": s}, t) for s in ("500", "503")]
        return 100 * math.fsum(e for e in errors if e is not None) / total

    return {
        "availability": availability,
        "error_ratio": error_ratio,
        "latency_p95": latency_ms(selector, 0.95),
    }


def latency_ms(selector: dict[str, str], q: float) -> Signal:
    """``1000 * histogram_quantile(q, sum by (le) (rate(..._bucket{selector}[30s])))``."""

    def latency(world: World, t: float) -> float | None:
        name = "http_request_duration_seconds_bucket"
        buckets = [(le, sum_rate(world, name, selector | {"le": le}, t)) for le in LE_LABELS]
        present = [(float(le), rate) for le, rate in buckets if rate is not None]
        if not present:
            return None
        quantile = histogram_quantile(q, present)
        return None if math.isnan(quantile) else 1000 * quantile

    return latency


def evaluate(world: World, signal: Signal, start: float, end: float, step: float) -> list[float]:
    """The signal's points at start, start + step, ... end (a range query's answer, gaps left out)."""
    count = int((end - start) // step) + 1
    values = [signal(world, start + k * step) for k in range(count)]
    return [v for v in values if v is not None]
