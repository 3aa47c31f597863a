"""Summaries of time series: statistics from full-resolution data, and small faithful previews.

Pure functions: they take timestamps (unix seconds) and values, and never do I/O.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

SPARK_CHARS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class SeriesStats:
    """Statistics of one series over every sample it had (NaN samples are skipped, and counted)."""

    samples: int
    min: float | None
    max: float | None
    mean: float | None
    last: float | None
    p95: float | None
    max_at: float | None
    first_at: float | None
    last_at: float | None
    nan_samples: int = 0


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between closest ranks, as numpy's default."""
    if not sorted_values:
        raise ValueError("percentile of an empty sequence")
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    weight = position - low
    return sorted_values[low] * (1 - weight) + sorted_values[high] * weight


def summarize(timestamps: Sequence[float], values: Sequence[float]) -> SeriesStats:
    """Min, max, mean, last, p95 and the time of the max, from every sample."""
    if len(timestamps) != len(values):
        raise ValueError(f"{len(timestamps)} timestamps for {len(values)} values")
    if values and not any(map(math.isnan, values)):  # the usual case, at C speed: 2x faster
        ordered = sorted(values)
        return SeriesStats(
            samples=len(values),
            min=ordered[0],
            max=ordered[-1],
            mean=math.fsum(values) / len(values),
            last=values[-1],
            p95=percentile(ordered, 0.95),
            max_at=timestamps[values.index(ordered[-1])],  # the first sample at the max
            first_at=timestamps[0],
            last_at=timestamps[-1],
            nan_samples=0,
        )
    finite = [(t, v) for t, v in zip(timestamps, values, strict=True) if not math.isnan(v)]
    nan_samples = len(values) - len(finite)
    if not finite:
        return SeriesStats(len(values), None, None, None, None, None, None, None, None, nan_samples)
    only_values = [v for _, v in finite]
    max_at, max_value = max(finite, key=lambda pair: pair[1])
    ordered = sorted(only_values)
    return SeriesStats(
        samples=len(values),
        min=ordered[0],
        max=max_value,
        mean=math.fsum(only_values) / len(only_values),
        last=finite[-1][1],
        p95=percentile(ordered, 0.95),
        max_at=max_at,
        first_at=finite[0][0],
        last_at=finite[-1][0],
        nan_samples=nan_samples,
    )


def downsample(
    timestamps: Sequence[float], values: Sequence[float], max_points: int
) -> tuple[list[float], list[float]]:
    """At most `max_points` points that keep the shape: each bucket keeps its most extreme sample.

    "Most extreme" is the sample farthest from the series mean, so a spike and an outage (a dip
    to zero) both survive, where a bucket average would flatten them.
    """
    if len(values) <= max_points:
        return list(timestamps), list(values)
    finite = [v for v in values if not math.isnan(v)]
    centre = math.fsum(finite) / len(finite) if finite else 0.0
    distance = [-1.0 if math.isnan(v) else abs(v - centre) for v in values]  # once, not per bucket
    out_t: list[float] = []
    out_v: list[float] = []
    size = len(values) / max_points
    for bucket in range(max_points):
        lo, hi = int(bucket * size), int((bucket + 1) * size)
        pick = max(range(lo, hi), key=distance.__getitem__)
        out_t.append(timestamps[pick])
        out_v.append(values[pick])
    return out_t, out_v


def sparkline(values: Sequence[float], width: int = 24) -> str:
    """A one-line picture of the series: eight bar heights, a space for a missing value."""
    _, sampled = downsample(list(range(len(values))), values, width)
    finite = [v for v in sampled if not math.isnan(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = high - low
    chars = []
    for v in sampled:
        if math.isnan(v):
            chars.append(" ")
        elif span == 0:
            chars.append(SPARK_CHARS[0])
        else:
            chars.append(SPARK_CHARS[min(7, int((v - low) / span * 8))])
    return "".join(chars)


def rank_key(stats: SeriesStats) -> float:
    """Sort key putting the series with the largest values first (empty series last)."""
    return -math.inf if stats.max is None else stats.max


def round_sig(value: float | None, digits: int = 4) -> float | None:
    """Round to `digits` significant digits; infinities and NaN pass through unchanged."""
    if value is None or value == 0 or math.isinf(value) or math.isnan(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def format_number(value: float | None) -> str:
    """A number as text with 4 significant digits (`-` for none)."""
    if value is None:
        return "-"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.4g}"


@dataclass(frozen=True, slots=True)
class ShapedSeries:
    """One series ready to show: full statistics, and a preview of at most `max_points` points."""

    labels: dict[str, str]
    stats: SeriesStats
    timestamps: list[float]
    values: list[float]


def shape_series(
    series: Sequence[tuple[dict[str, str], Sequence[float], Sequence[float]]],
    max_series: int,
    max_points: int,
) -> tuple[list[ShapedSeries], int]:
    """The `max_series` largest series (by max value) with previews, and how many were left out.

    Statistics come from every sample of every series, before any cut.
    """
    summarized = [(labels, ts, vs, summarize(ts, vs)) for labels, ts, vs in series]
    summarized.sort(key=lambda item: rank_key(item[3]), reverse=True)
    shown = []
    for labels, ts, vs, stats in summarized[:max_series]:
        preview_t, preview_v = downsample(ts, vs, max_points)
        shown.append(ShapedSeries(labels, stats, preview_t, preview_v))
    return shown, max(0, len(summarized) - max_series)
