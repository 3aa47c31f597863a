"""Resolution of range queries: choosing, checking and aligning the step, and PromQL durations.

Prometheus and Loki refuse a range query whose (end - start) / step exceeds 11,000 points per
series; `auto_step` stays well below with a "nice" step, `validate_step` turns a step the caller
chose into an actionable error before the backend refuses it, and `align_range` snaps the range to
step boundaries so the same question asked a minute later produces the same query (and hits the cache).

Durations use the PromQL syntax: an integer followed by a unit, units from largest to smallest and
each at most once: y (365d), w (7d), d (24h), h, m, s, ms; e.g. "5m", "1h30m", "2d", "500ms".
A bare number ("30", "1.5") means seconds, as the HTTP APIs' step parameter accepts.
"""

import math
import re

from aiops_mcp.query.errors import QueryInputError

MAX_POINTS_PER_SERIES = 11_000
"""The hard limit of Prometheus and Loki on (end - start) / step."""

NICE_STEPS: tuple[float, ...] = (
    15,
    30,
    60,
    2 * 60,
    5 * 60,
    10 * 60,
    15 * 60,
    30 * 60,
    3600,
    2 * 3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
)
"""Steps `auto_step` picks from, in seconds: 15s ... 1d; whole days beyond that."""

_UNITS: tuple[tuple[str, float], ...] = (
    ("y", 365 * 86400),
    ("w", 7 * 86400),
    ("d", 86400),
    ("h", 3600),
    ("m", 60),
    ("s", 1),
    ("ms", 0.001),
)
_DURATION_RE = re.compile(
    r"(?:(?P<y>[0-9]+)y)?(?:(?P<w>[0-9]+)w)?(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?"
    r"(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?(?:(?P<ms>[0-9]+)ms)?",
    re.ASCII,
)
_SECONDS_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_DURATION_HELP = "use a PromQL duration such as '30s', '5m', '1h30m' or '1d' (units y w d h m s ms)"


def points(range_seconds: float, step: float) -> int:
    """Points a range query returns per series: one at start, then one every step up to end."""
    return math.floor(range_seconds / step) + 1


def auto_step(range_seconds: float, max_points: int = 500, min_step: float = 15) -> float:
    """The smallest nice step (15s, 30s, 1m, 2m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 6h, 12h, 1d, then
    whole days) giving at most `max_points` points per series over `range_seconds`, and never less
    than `min_step` (e.g. the scrape interval). `max_points` is capped at the 11,000-point limit.

    Examples with 500 points: 1h -> 15s, 24h -> 5m, 48h -> 10m, 7d -> 30m, 30d -> 2h.
    """
    if not range_seconds > 0 or math.isinf(range_seconds):
        raise QueryInputError(f"the range must be a positive number of seconds, got {range_seconds}")
    if max_points < 2:
        raise QueryInputError(f"max_points must be at least 2, got {max_points}")
    budget = min(max_points, MAX_POINTS_PER_SERIES)
    # points() <= budget  <=>  range / step < budget, hence the strict comparison.
    least = range_seconds / budget
    nice = next((s for s in NICE_STEPS if s > least), None)
    if nice is None:
        nice = (math.floor(least / 86400) + 1) * 86400.0
    return float(max(nice, min_step))


def validate_step(range_seconds: float, step: float) -> None:
    """Raise QueryInputError when `step` is not positive, or would give more than 11,000 points per
    series over `range_seconds` (Prometheus and Loki refuse those); the message suggests a step."""
    if not step > 0 or math.isinf(step):
        raise QueryInputError(
            f"step must be a positive duration, got {step!r}: zero or negative steps are not accepted; "
            "try e.g. '1m', or omit the step to have one chosen"
        )
    if range_seconds / step > MAX_POINTS_PER_SERIES:
        smallest = math.ceil(range_seconds / MAX_POINTS_PER_SERIES)
        suggested = auto_step(range_seconds)
        raise QueryInputError(
            f"step {format_duration(step)} over {format_duration(range_seconds)} gives "
            f"{points(range_seconds, step):,} points per series, more than the maximum of "
            f"{MAX_POINTS_PER_SERIES:,}: use a step of at least {format_duration(smallest)}, "
            f"e.g. '{format_duration(suggested)}', or omit the step to have one chosen"
        )


def align_range(start_ts: float, end_ts: float, step: float) -> tuple[float, float]:
    """Floor both `start_ts` and `end_ts` (unix seconds) to a multiple of `step`, as Grafana does.

    Two questions about "the last 24h" a minute apart then send the same query, and every point
    lands on the same wall-clock grid. The cost: the last partial step (less than `step` seconds
    before `end_ts`) is not evaluated and the first point may precede `start_ts` by up to a step;
    use an instant query for the freshest value. When the range is shorter than a step the result
    is a single evaluation point (start == end).
    """
    if not step > 0:
        raise QueryInputError(f"step must be positive to align a range, got {step!r}")
    start = math.floor(start_ts / step) * step
    end = math.floor(end_ts / step) * step
    return float(start), float(max(start, end))


def parse_duration(text: str) -> float:
    """Seconds in a PromQL duration: '5m' -> 300, '1h30m' -> 5400, '500ms' -> 0.5, '1w' -> 604800.

    Units: y (365d), w, d, h, m, s, ms, largest first and each at most once. A bare number is
    seconds ('30', '1.5'). Raises QueryInputError for anything else, e.g. '5M', '1.5h', '-5m'.
    """
    value = text.strip()
    match = _DURATION_RE.fullmatch(value)
    if not value or len(value) > 40 or not (match or _SECONDS_RE.fullmatch(value)):
        raise QueryInputError(f"cannot understand duration {value[:40]!r}: {_DURATION_HELP}")
    if match is None:
        return float(value)
    return float(sum(int(match[unit]) * seconds for unit, seconds in _UNITS if match[unit] is not None))


def format_duration(seconds: float) -> str:
    """A PromQL duration for `seconds`, largest units first: 300 -> '5m', 5400 -> '1h30m',
    604800 -> '1w', 0.5 -> '500ms', 0 -> '0s'. Rounded to the millisecond."""
    if seconds < 0 or math.isnan(seconds) or math.isinf(seconds):
        raise QueryInputError(f"a duration must be a finite, non-negative number of seconds, got {seconds}")
    remaining = round(seconds * 1000)
    parts = []
    for unit, unit_seconds in _UNITS:
        size = round(unit_seconds * 1000)
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
