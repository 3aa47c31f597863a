"""The stored entries, sorted by time, and log queries over them."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable

from aiops_mcp.query.logql import LogExpr, StreamSelector
from tests.doubles.loki.dataset import Entry, LogRecord, ingest
from tests.doubles.loki.pipeline import Row, run_pipeline, selects


class Store:
    """Entries sorted by time; thread-safe appends."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.stamps: list[int] = []
        self.lock = threading.Lock()

    def add(self, records: Iterable[LogRecord]) -> None:
        with self.lock:
            entries = sorted([*self.entries, *map(ingest, records)], key=lambda e: e.ts_ns)
            self.entries, self.stamps = entries, [e.ts_ns for e in entries]

    def select(self, selector: StreamSelector, start_ns: int, end_ns: int, right_closed: bool) -> list[Entry]:
        """Entries of matching streams in [start, end) or, for range windows, (start, end]."""
        entries, stamps = self.entries, self.stamps
        if right_closed:
            lo, hi = bisect.bisect_right(stamps, start_ns), bisect.bisect_right(stamps, end_ns)
        else:
            lo, hi = bisect.bisect_left(stamps, start_ns), bisect.bisect_left(stamps, end_ns)
        return [e for e in entries[lo:hi] if selects(selector, dict(e.stream))]


def log_query(store: Store, expr: LogExpr, start: int, end: int, limit: int, forward: bool) -> list[Row]:
    """The rows a log query returns from [start, end): newest first unless `forward`, at most `limit`."""
    rows = []
    for entry in store.select(expr.selector, start, end, right_closed=False):
        row = run_pipeline(expr.stages, entry)
        if row is not None:
            rows.append(row)
    rows.sort(key=lambda r: r.entry.ts_ns, reverse=not forward)
    return rows[:limit]
