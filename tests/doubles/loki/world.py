"""The generated demo world's log history (`aiops_mcp.demo.logs`) as records for the Loki double."""

from __future__ import annotations

from aiops_mcp.demo.logs import build_logs
from aiops_mcp.demo.world import World
from tests.doubles.loki.dataset import LogRecord


def world_records(world: World) -> list[LogRecord]:
    """``build_logs(world)`` as `LogRecord`s, in time order (no structured metadata)."""
    return [LogRecord(entry.ts_ns, dict(entry.labels), entry.line) for entry in build_logs(world)]
