"""The recorded data set and how an entry is stored: ``service_name`` and ``detected_level`` added as
Loki 3.4.2 adds them, labels kept as sorted tuples (`LabelKey`), timestamps in nanoseconds."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.doubles.loki.parsers import json_fields, logfmt_fields

DATASET = Path(__file__).resolve().parents[2] / "fixtures" / "loki" / "dataset.jsonl"
NS = 1_000_000_000  # nanoseconds per second: every timestamp here is in nanoseconds
SERVICE_NAME_SOURCES = (
    "service",
    "app",
    "application",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "component",
    "workload",
    "job",
)
# Loki's own level names: unlike aiops_mcp.analysis.logs.normalise_level, unknown words are kept as
# they are (``trace`` stays ``trace``), so the two tables differ on purpose.
LEVEL_KEYS = ("level", "LEVEL", "Level", "severity", "SEVERITY", "Severity", "lvl", "LVL", "Lvl")
LEVEL_ALIASES = {
    "warning": "warn",
    "err": "error",
    "eror": "error",
    "information": "info",
    "fatal": "critical",
    "crit": "critical",
    "dbg": "debug",
    "inf": "info",
    "wrn": "warn",
}

LabelKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LogRecord:
    """One pushed log entry: stream labels, a line, optional structured metadata."""

    ts_ns: int
    labels: dict[str, str]
    line: str
    structured_metadata: dict[str, str] | None = None


def load_recorded_dataset() -> list[LogRecord]:
    """The 600 entries the recordings were made from (`tests/fixtures/loki/dataset.jsonl`)."""
    records = []
    with DATASET.open(encoding="utf-8") as handle:
        for row in map(json.loads, filter(str.strip, handle)):
            records.append(
                LogRecord(int(row["ts_ns"]), row["labels"], row["line"], row.get("structured_metadata"))
            )
    return records


@dataclass(frozen=True)
class Entry:
    """A stored entry as Loki keeps it: index labels (with service_name) and structured metadata."""

    ts_ns: int
    stream: LabelKey
    line: str
    metadata: LabelKey


def ingest(record: LogRecord) -> Entry:
    """Store a record as Loki 3.4.2 does: with ``service_name`` and a ``detected_level``."""
    stream = dict(record.labels)
    if "service_name" not in stream:
        source = next((k for k in SERVICE_NAME_SOURCES if stream.get(k)), None)
        stream["service_name"] = stream[source] if source else "unknown_service"
    metadata = dict(record.structured_metadata or {})
    metadata.setdefault("detected_level", _detect_level(record))
    return Entry(record.ts_ns, label_key(stream), record.line, label_key(metadata))


def _detect_level(record: LogRecord) -> str:
    """Loki's `discover_log_levels`: a level label or metadata field, else the line's level field or words."""
    for source in (record.labels, record.structured_metadata or {}):
        for name in LEVEL_KEYS:
            if source.get(name):
                return _normalise_level(source[name])
    fields = json_fields(record.line) or logfmt_fields(record.line, keep_empty=False, strict=False)[0]
    if isinstance(fields, dict) and fields.get("level"):
        return _normalise_level(fields["level"])
    lowered = record.line.lower()
    for word, level in (("error", "error"), ("warn", "warn"), ("info", "info"), ("debug", "debug")):
        if word in lowered:
            return level
    return "unknown"


def _normalise_level(value: str) -> str:
    lowered = value.lower()
    return LEVEL_ALIASES.get(lowered, lowered)


def label_key(labels: Mapping[str, str]) -> LabelKey:
    """Labels as a hashable key, sorted by name."""
    return tuple(sorted(labels.items()))
