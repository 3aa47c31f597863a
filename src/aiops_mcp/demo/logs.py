"""Deterministic generated log history for the generated world (`aiops_mcp.demo.world`), and its ground truth.

`build_logs(world)` generates Loki log lines from ``world.start`` to ``world.end`` (both included)
for every application instance of the world; the same world and seed always give the same lines.

Streams (Loki stream labels, one stream per instance): the application's selector labels plus
``instance`` (see `World.apps`), never ``level``:
- abc-app prod: ``app="abc-app", env="prod", job="abc-app"``, instances ``abc-1:8080``, ``abc-2:8080``.
- abc-app staging: ``app="abc-app", env="staging", job="abc-app"``, instance ``abc-staging-1:8080``.
- checkout: ``service="checkout", namespace="payments", env="prod", job="checkout"``, instance
  ``checkout-1:8080``.

Lines are logfmt with ``level`` first (``debug``, ``info``, ``warn`` or ``error``), e.g.
``level=info msg="GET /api/orders 200" status=200 duration_ms=42 trace_id=4bf92f3577b34da6``.
Timestamps are whole seconds (in ns); a stream never has two lines in the same second.
Normal times: about 0.8-1.4 lines per instance per minute with a daily shape, ~12 % debug, ~2 %
warn, ~0.3 % error; staging also logs a few ``database timeout`` errors (about one every two hours).

Incidents (the world's, yesterday UTC, windows ``(start, end]``):
- ``abc-app-5xx-burst`` 14:30-14:45: both prod instances add 6-10 ``level=error msg="database
  timeout after 5000ms"`` and 2-4 ``level=warn msg="slow query"`` lines per minute; request
  durations rise with ``abc-app-latency``.
- ``abc-2-down`` 03:10-03:16: no lines from ``abc-2:8080``; ``abc-1:8080`` logs 1-2
  ``level=error msg="upstream abc-2:8080 connection refused"`` lines per minute; abc-2 logs
  ``msg="starting abc-app"`` in the minute after.
- ``checkout-latency`` 09:00-09:20: checkout adds 2-5 ``level=warn msg="payment gateway slow"
  duration_ms=...`` lines per minute, and its request durations rise.

Ground truth: `count_levels` counts lines by level over ``(start_ns, end_ns]``, the window of
LogQL's ``count_over_time({...}[W])`` evaluated at ``time=end`` (left-open, right-closed), so
``sum by (detected_level) (count_over_time({selector} |= "text" [W]))`` equals it exactly.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aiops_mcp.demo.world import App, World

NS = 1_000_000_000
LEVELS = ("debug", "info", "warn", "error")

# Mean lines per instance per minute in normal times, by application key.
_BASE_RATE = {"abc-app": 1.4, "checkout": 1.3, "abc-app-staging": 0.8}
_ROUTES = {
    "abc-app": ("GET /api/orders", "POST /api/orders", "GET /api/products", "GET /api/users"),
    "abc-app-staging": ("GET /api/orders", "POST /api/orders", "GET /api/products"),
    "checkout": ("POST /api/checkout", "GET /api/cart", "POST /api/payments"),
}
_STAGING_DB_TIMEOUT = 0.008  # chance per staging minute of a normal-time "database timeout" error

Window = tuple[int, int]  # epoch seconds, (start, end]


@dataclass(frozen=True, slots=True)
class LogLine:
    """One log entry: time in ns (whole seconds), Loki stream labels and the logfmt line."""

    ts_ns: int
    labels: dict[str, str]
    line: str


def build_logs(world: World, seed: int = 11) -> list[LogLine]:
    """Generate the log lines of ``world`` from ``world.start`` to ``world.end``, sorted by time."""
    rng = random.Random(seed)
    start, end = int(world.start.timestamp()), int(world.end.timestamp())
    windows = {
        name: (int(world.incident(name).start.timestamp()), int(world.incident(name).end.timestamp()))
        for name in ("abc-app-5xx-burst", "abc-app-latency", "abc-2-down", "checkout-latency")
    }
    lines: list[LogLine] = []
    for app in world.apps.values():
        for instance in app.instances:
            labels = app.selector | {"instance": instance}
            for minute in range(start - start % 60, end, 60):
                events = _minute(app, instance, minute, windows, rng)
                # Distinct seconds (minute, minute + 60]: a minute lies wholly inside or outside each
                # incident window, since those start and end on whole minutes.
                for offset, text in zip(sorted(rng.sample(range(1, 61), len(events))), events, strict=True):
                    if start <= minute + offset <= end:
                        lines.append(LogLine((minute + offset) * NS, dict(labels), text))
    lines.sort(key=lambda entry: entry.ts_ns)
    return lines


def count_levels(
    lines: Iterable[LogLine],
    selector: Mapping[str, str],
    start_ns: int,
    end_ns: int,
    contains: str | None = None,
) -> Counter[str]:
    """Lines per level whose labels include ``selector``, with ``start_ns < ts_ns <= end_ns``.

    The window is left-open and right-closed like Loki's range selectors: this equals
    ``sum by (detected_level) (count_over_time({selector} |= "contains" [W]))`` at ``time=end_ns``
    with ``W = end_ns - start_ns``. ``contains`` is a case-sensitive substring, like ``|=``.
    """
    counts: Counter[str] = Counter()
    for entry in lines:
        if (
            start_ns < entry.ts_ns <= end_ns
            and all(entry.labels.get(k) == v for k, v in selector.items())
            and (contains is None or contains in entry.line)
        ):
            counts[level_of(entry.line)] += 1
    return counts


def level_of(line: str) -> str:
    """The ``level`` field of a generated line (always its first field)."""
    return line.split(" ", 1)[0].removeprefix("level=")


# --- generation ---------------------------------------------------------------------------


def _minute(
    app: App, instance: str, minute: int, windows: dict[str, Window], rng: random.Random
) -> list[str]:
    """The lines one instance logs in the minute ``(minute, minute + 60]``."""

    def during(name: str) -> bool:
        return windows[name][0] <= minute < windows[name][1]

    if instance == "abc-2:8080" and during("abc-2-down"):
        return []
    slow = (app.key == "abc-app" and during("abc-app-latency")) or (
        app.key == "checkout" and during("checkout-latency")
    )
    daily = 1 + 0.3 * math.sin(2 * math.pi * ((minute % 86400) / 86400 - 0.375))
    events = [_normal(app, rng, slow) for _ in range(_poisson(_BASE_RATE[app.key] * daily, rng))]
    if app.key == "abc-app" and during("abc-app-5xx-burst"):
        events += [_db_timeout(rng) for _ in range(rng.randint(6, 10))]
        events += [
            f'level=warn msg="slow query" query=orders.select duration_ms={rng.randint(1500, 4900)}'
            f" trace_id={_trace(rng)}"
            for _ in range(rng.randint(2, 4))
        ]
    if instance == "abc-1:8080" and during("abc-2-down"):
        events += [
            'level=error msg="upstream abc-2:8080 connection refused" path=/api/orders'
            f" trace_id={_trace(rng)}"
            for _ in range(rng.randint(1, 2))
        ]
    if instance == "abc-2:8080" and minute == windows["abc-2-down"][1]:
        events.append('level=info msg="starting abc-app" version=1.8.2 port=8080')
    if app.key == "checkout" and during("checkout-latency"):
        events += [
            f'level=warn msg="payment gateway slow" gateway=stripe duration_ms={rng.randint(2000, 4500)}'
            f" trace_id={_trace(rng)}"
            for _ in range(rng.randint(2, 5))
        ]
    if app.key == "abc-app-staging" and rng.random() < _STAGING_DB_TIMEOUT:
        events.append(_db_timeout(rng))
    rng.shuffle(events)
    return events


def _normal(app: App, rng: random.Random, slow: bool) -> str:
    """A normal-time line: mostly request logs, some debug, rare warnings and errors."""
    roll, trace = rng.random(), _trace(rng)
    route = rng.choice(_ROUTES[app.key])
    if roll < 0.003:
        return f'level=error msg="{route} 500" status=500 error="internal server error" trace_id={trace}'
    if roll < 0.023:
        return f'level=warn msg="retrying request" path={route.split()[1]} attempt=2 trace_id={trace}'
    if roll < 0.143:
        return f'level=debug msg="cache lookup" key={route.split()[1]} hit={rng.choice(("true", "false"))}'
    duration = round(rng.lognormvariate(math.log(900 if slow else 45), 0.4))
    return f'level=info msg="{route} 200" status=200 duration_ms={duration} trace_id={trace}'


def _db_timeout(rng: random.Random) -> str:
    return f'level=error msg="database timeout after 5000ms" query=orders.select trace_id={_trace(rng)}'


def _trace(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def _poisson(mean: float, rng: random.Random) -> int:
    """A Poisson-distributed count (Knuth's method, fine for small means)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count, product = count + 1, product * rng.random()
    return count
