"""Event counts: how many, split by level, and when they peaked. Pure functions, no I/O."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiops_mcp.analysis.logs import LevelCount, level_breakdown


@dataclass(frozen=True, slots=True)
class EventBreakdown:
    """The total number of events and the count per normalised level, largest first."""

    total: int
    levels: tuple[LevelCount, ...]


def event_breakdown(counts_by_level: Iterable[tuple[str, float]]) -> EventBreakdown:
    """Total and per-level counts with percentages (level spellings merged, counts rounded)."""
    levels = level_breakdown(counts_by_level)
    return EventBreakdown(total=sum(level.count for level in levels), levels=tuple(levels))


@dataclass(frozen=True, slots=True)
class TimelinePeak:
    """The bucket with the most events and its share (0..1) of the total; None fields when empty."""

    at: float | None
    count: float | None
    total: float
    share: float | None
    buckets: int


def timeline_peak(points: Sequence[tuple[float, float]]) -> TimelinePeak:
    """The busiest (timestamp, count) bucket; NaN buckets are skipped, ties go to the earliest."""
    finite = sorted((t, v) for t, v in points if not math.isnan(v))
    if not finite:
        return TimelinePeak(None, None, 0.0, None, 0)
    total = math.fsum(v for _, v in finite)
    at, count = max(finite, key=lambda p: (p[1], -p[0]))
    return TimelinePeak(at, count, total, count / total if total else None, len(finite))


def bucket_grid(start: float, end: float, step: float) -> list[float]:
    """Bucket end times, oldest first: buckets ``(t - step, t]`` on multiples of `step` (the grid
    log backends evaluate range queries on) covering ``(start, end]``; the first and last bucket
    reach past the window's edges unless those fall on the grid."""
    first = math.floor(start / step) + 1
    last = max(first, math.ceil(end / step))
    return [k * step for k in range(first, last + 1)]


def bucket_totals(series: Iterable[Sequence[tuple[float, float]]], grid: Sequence[float]) -> list[float]:
    """Per-bucket sums over every series, on `grid` (a bucket without points counts 0, as log
    backends leave empty steps out; points off the grid are ignored)."""
    index = {round(t, 3): k for k, t in enumerate(grid)}
    totals = [0.0] * len(grid)
    for points in series:
        for t, v in points:
            k = index.get(round(t, 3))
            if k is not None and not math.isnan(v):
                totals[k] += v
    return totals
