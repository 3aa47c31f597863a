"""A Grafana Loki HTTP double, built from recordings of a real Loki 3.4.2 because Loki cannot run here.

Every shape it answers with was copied from `tests/fixtures/loki/responses` (see that folder's
README): JSON envelopes and their `stats` block, ``[ "<ns>", "<line>" ]`` log values and
``[<seconds>, "<value>"]`` samples, text/plain error bodies with Loki's exact wording, the missing
``data`` key of empty label answers, the default limit of 100 and the 1..5000 range, the
11,000-points check, start/end checks, the rejection of log queries on ``/query``, steps without
data left out, left-open range windows ``(t-range, t]``, step-aligned range queries whose last
point can fall after ``end``, ``service_name`` copied from ``app`` and a ``detected_level``
structured-metadata label, structured metadata and parsed labels merged into stream labels (so
one pushed stream can come back as several), and the ``categorize-labels`` encoding flag.

Queries are parsed with `aiops_mcp.query.logql` and evaluated here: stream selectors, line filters
(``|= != |~ !~``), ``json``/``logfmt``/``regexp`` parsers, label filters, ``line_format`` and
``label_format`` with plain ``{{.label}}`` templates, ``drop``, ``keep``, ``decolorize``, unwrap
(with ``duration``/``bytes`` conversions); range aggregations ``count_over_time rate bytes_over_time
bytes_rate sum/avg/min/max/first/last/stddev/stdvar/quantile_over_time``; vector aggregations
``sum avg min max count stddev stdvar topk bottomk sort sort_desc``; numbers, ``vector()`` and binary
operators without ``group_left``/``group_right``. Anything else is answered with 400
``double: unsupported query feature: ...`` so that a test can never silently get a wrong answer.

Where it knowingly differs from Loki: ``index/stats`` and ``index/volume`` report exact counts and
line bytes (Loki reports chunk-based estimates), series and streams come out sorted by labels (Loki's
order is unstable), and data is visible as soon as it is added (no ingester/flush delays).

Use it from sync tests::

    with LokiDouble(load_recorded_dataset()) as loki:
        httpx.get(f"{loki.url}/loki/api/v1/labels", params={...})

Fault injection: ``loki.fail_next(status=500, body="boom", count=1)``, ``loki.delay_seconds = 2.0``,
``loki.garbage_next()`` (a 200 whose JSON body is cut short). ``loki.requests`` records what was asked.
"""

from __future__ import annotations

import asyncio
import bisect
import calendar
import json
import math
import re
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.requests import Request
from starlette.responses import Response

from aiops_mcp.query.logql import (
    BinaryOp,
    ComparisonFilter,
    Decolorize,
    DropLabels,
    Expr,
    GoRegexError,
    Grouping,
    IpLabelFilter,
    KeepLabels,
    LabelFilterExpr,
    LabelFilterStage,
    LabelFormat,
    LabelMatchFilter,
    LabelReplace,
    LineFilter,
    LineFormat,
    LogExpr,
    LogicalLabelFilter,
    LogQLQuery,
    LogQLSyntaxError,
    Matcher,
    NumberLiteral,
    ParserStage,
    RangeAggregation,
    Stage,
    StreamSelector,
    Unwrap,
    VectorAggregation,
    VectorLiteral,
    compile_go_regex,
    escape_logql_string,
    parse_bytes,
    parse_go_duration,
    parse_logql,
    parse_prometheus_duration,
    walk,
)

DATASET = Path(__file__).resolve().parent.parent / "fixtures" / "loki" / "dataset.jsonl"
JSON_TYPE = "application/json; charset=UTF-8"
TEXT_TYPE = "text/plain; charset=utf-8"
DEFAULT_LIMIT = 100
MAX_LIMIT = 5000
MAX_POINTS = 11_000
NS = 1_000_000_000
SPLIT_INTERVAL_NS = 3600 * NS  # split_queries_by_interval in the recorded Loki's config
INJECTABLE_RANGE_OPS = ("bytes_over_time", "bytes_rate", "sum_over_time", "rate", "count_over_time")
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
JSON_PARSE_ERROR = "Value looks like object, but can't find closing '}' symbol"
ERRORS = {
    "step_too_small": "exceeded maximum resolution of 11,000 points per time series. "
    "Try increasing the value of the step parameter",
    "negative_step": "zero or negative query resolution step widths are not accepted. Try a positive integer",
    "end_before_start": "end timestamp must not be before or equal to start time",
    "limit": "limit must be a positive value",
    "instant_log": "log queries are not supported as an instant query type, please change your query to a "
    "range query type",
    "matchers_only": "only label matchers are supported",
}
BUILD_INFO = {"version": "", "revision": "", "branch": "", "buildUser": "", "buildDate": "", "goVersion": ""}

LabelKey = tuple[tuple[str, str], ...]
Vector = dict[LabelKey, float]


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


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
class _Entry:
    """A stored entry as Loki keeps it: index labels (with service_name) and structured metadata."""

    ts_ns: int
    stream: LabelKey
    line: str
    metadata: LabelKey


def _ingest(record: LogRecord) -> _Entry:
    stream = dict(record.labels)
    if "service_name" not in stream:
        source = next((k for k in SERVICE_NAME_SOURCES if stream.get(k)), None)
        stream["service_name"] = stream[source] if source else "unknown_service"
    metadata = dict(record.structured_metadata or {})
    metadata.setdefault("detected_level", _detect_level(record))
    return _Entry(record.ts_ns, _key(stream), record.line, _key(metadata))


def _detect_level(record: LogRecord) -> str:
    """Loki's `discover_log_levels`: a level label or metadata field, else the line's level field or words."""
    for source in (record.labels, record.structured_metadata or {}):
        for name in LEVEL_KEYS:
            if source.get(name):
                return _normalise_level(source[name])
    fields = _json_fields(record.line) or _logfmt_fields(record.line, keep_empty=False, strict=False)[0]
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


def _key(labels: Mapping[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


class Unsupported(Exception):
    """A query feature the double does not evaluate (answered as 400, never approximated)."""


class BadRequest(Exception):
    """A request Loki answers with 400 and this text."""


# ---------------------------------------------------------------------------------------------
# Log pipeline
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hints:
    """Loki's parser hints for metric queries: which parsed labels are needed at all.

    `required` None means every label (log queries, or no grouping); `skip` means no label is needed,
    so parsers do not run (and cannot fail): ``sum(count_over_time({...} | json [5m]))``."""

    required: frozenset[str] | None = None
    skip: bool = False

    def wants(self, key: str) -> bool:
        return self.required is None or key in self.required

    @property
    def preserve_error(self) -> bool:
        return self.required is not None and "__error__" in self.required


ALL_LABELS = _Hints()


@dataclass
class _Row:
    """An entry going through a pipeline: its current line and labels, and which labels were parsed."""

    entry: _Entry
    line: str
    labels: dict[str, str]
    hints: _Hints = ALL_LABELS
    parsed: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, entry: _Entry, hints: _Hints) -> _Row:
        return cls(entry, entry.line, {**dict(entry.stream), **dict(entry.metadata)}, hints)

    def set_error(self, kind: str, details: str) -> None:
        if "__error__" not in self.labels:
            self.labels["__error__"] = kind
            self.labels["__error_details__"] = details

    def extracted(self, key: str, value: str) -> None:
        """Add a parsed label; a name already on the stream gets `_extracted`, as Loki does."""
        if not self.hints.wants(key):
            return
        base = dict(self.entry.stream) | dict(self.entry.metadata)
        name = f"{key}_extracted" if key in base else key
        self.labels[name] = value
        self.parsed.add(name)


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        compiled = compile_go_regex(pattern)
    except GoRegexError as exc:  # the parser already rejected it; kept for type narrowing
        raise BadRequest(f"error parsing regexp: {exc}") from None
    if compiled is None:
        raise Unsupported(f"regexp syntax Python cannot check: {pattern}")
    return compiled


def _matches(m: Matcher, value: str) -> bool:
    if m.op == "=":
        return value == m.value
    if m.op == "!=":
        return value != m.value
    found = _regex(m.value).fullmatch(value) is not None
    return found if m.op == "=~" else not found


def _selects(selector: StreamSelector, labels: Mapping[str, str]) -> bool:
    return all(_matches(m, labels.get(m.name, "")) for m in selector.matchers)


def _line_filter(stage: LineFilter, row: _Row) -> bool:
    if stage.ip or stage.op in ("|>", "!>"):
        raise Unsupported(f"line filter {stage}")
    if stage.op in ("|=", "!="):
        hit = any(v in row.line for v in stage.values)
    else:
        hit = any(_regex(v).search(row.line) for v in stage.values)
    return hit if stage.op in ("|=", "|~") else not hit


def _json_fields(line: str) -> dict[str, str] | None:
    """Flattened JSON fields (nested keys joined by `_`, numbers as written), or None if not an object."""
    try:
        data = json.loads(line, parse_float=str, parse_int=str)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    out: dict[str, str] = {}
    _flatten(data, "", out)
    return out


def _flatten(data: dict[str, Any], prefix: str, out: dict[str, str]) -> None:
    for key, value in data.items():
        name = _sanitise(f"{prefix}{key}")
        if isinstance(value, dict):
            _flatten(value, f"{name}_", out)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is None:
            out[name] = ""
        elif not isinstance(value, list):
            out[name] = str(value)


def _sanitise(key: str) -> str:
    key = key.strip()
    if key[:1].isdigit():
        key = "_" + key
    return re.sub(r"[^a-zA-Z0-9_]", "_", key)


_LOGFMT = re.compile(r'\s*([^\s=]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?')


def _logfmt_fields(line: str, keep_empty: bool, strict: bool) -> tuple[dict[str, str], str | None]:
    """Parse `key=value key2="quoted"` pairs like go-logfmt; returns fields and an error, if any."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(line.rstrip()):
        m = _LOGFMT.match(line, pos)
        if not m or m.end() == pos:
            if strict:
                return out, f"logfmt syntax error at pos {pos + 1} : unexpected '\"'"
            pos = line.find(" ", pos + 1) if " " in line[pos + 1 :] else len(line)
            continue
        key, value = m.group(1), m.group(2)
        pos = m.end()
        if value is None or value == "":
            if keep_empty:
                out[_sanitise(key)] = ""
            continue
        out[_sanitise(key)] = json.loads(value) if value.startswith('"') else value
    return out, None


def _parse_json_stage(stage: ParserStage, row: _Row) -> None:
    fields = _json_fields(row.line)
    if fields is None:
        row.set_error("JSONParserErr", JSON_PARSE_ERROR)
        return
    if not stage.extractions:
        for key, value in fields.items():
            row.extracted(key, value)
        return
    data = json.loads(row.line, parse_float=str, parse_int=str)
    for item in stage.extractions:
        found = _json_path(data, item.expression or item.label)
        if found is not None:
            row.extracted(item.label, found)


def _json_path(data: Any, path: str) -> str | None:
    for part in re.findall(r'[^.\[\]"]+', path):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    if isinstance(data, dict | list):
        return json.dumps(data, separators=(",", ":"))
    return "" if data is None else str(data).lower() if isinstance(data, bool) else str(data)


def _parse_logfmt_stage(stage: ParserStage, row: _Row) -> None:
    fields, error = _logfmt_fields(row.line, "--keep-empty" in stage.flags, "--strict" in stage.flags)
    wanted = {item.expression or item.label: item.label for item in stage.extractions}
    for key, value in fields.items():
        if not wanted:
            row.extracted(key, value)
        elif key in wanted:
            row.extracted(wanted[key], value)
    if error:
        row.set_error("LogfmtParserErr", error)


def _parse_regexp_stage(stage: ParserStage, row: _Row) -> None:
    m = _regex(stage.argument or "").search(row.line)
    if m:
        for name, value in m.groupdict().items():
            if value is not None:
                row.extracted(name, value)


def _run_parser(stage: ParserStage, row: _Row) -> None:
    if row.hints.skip:
        return
    parsers: dict[str, Callable[[ParserStage, _Row], None]] = {
        "json": _parse_json_stage,
        "logfmt": _parse_logfmt_stage,
        "regexp": _parse_regexp_stage,
    }
    if stage.name not in parsers:
        raise Unsupported(f"{stage.name} parser")
    parsers[stage.name](stage, row)


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _label_filter(expr: LabelFilterExpr, row: _Row) -> bool:
    if isinstance(expr, LogicalLabelFilter):
        if expr.op == "and":
            return _label_filter(expr.left, row) and _label_filter(expr.right, row)
        return _label_filter(expr.left, row) or _label_filter(expr.right, row)
    if isinstance(expr, LabelMatchFilter):
        return _matches(expr.matcher, row.labels.get(expr.matcher.name, ""))
    if isinstance(expr, IpLabelFilter):
        raise Unsupported(f"ip label filter {expr}")
    return _comparison(expr, row)


def _comparison(expr: ComparisonFilter, row: _Row) -> bool:
    if expr.name not in row.labels:
        return False
    raw = row.labels[expr.name]
    value, error = _convert(raw, expr.unit)
    if value is None:
        row.set_error("LabelFilterErr", error)
        return True
    target = expr.value / NS if expr.unit == "duration" else expr.value
    return _COMPARE[expr.op](value, target)


def _convert(raw: str, unit: str) -> tuple[float | None, str]:
    """A label value as a number, seconds or bytes, with Go's error text when it is not one."""
    if unit == "duration":
        ns = parse_go_duration(raw) if raw else None
        return (ns / NS if ns is not None else None), f'time: invalid duration "{raw}"'
    if unit == "bytes":
        size = parse_bytes(raw)
        return (
            float(size) if size is not None else None
        ), f"strconv.ParseFloat: parsing {json.dumps(raw)}: invalid syntax"
    try:
        return float(raw), ""
    except ValueError:
        return None, f"strconv.ParseFloat: parsing {json.dumps(raw)}: invalid syntax"


_TEMPLATE_FIELD = re.compile(r"\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def _render(template: str, labels: Mapping[str, str]) -> str:
    rendered = _TEMPLATE_FIELD.sub(lambda m: labels.get(m.group(1), ""), template)
    if "{{" in _TEMPLATE_FIELD.sub("", template):
        raise Unsupported(f"template beyond {{{{.label}}}} fields: {template}")
    return rendered


def _label_format(stage: LabelFormat, row: _Row) -> None:
    snapshot = dict(row.labels)
    for item in stage.items:
        if item.template:
            row.labels[item.target] = _render(item.source, snapshot)
        elif item.source in row.labels:
            row.labels[item.target] = row.labels.pop(item.source)


def _drop_or_keep(stage: DropLabels | KeepLabels, row: _Row) -> None:
    def named(name: str) -> bool:
        for item in stage.items:
            if item == name or (
                isinstance(item, Matcher) and item.name == name and _matches(item, row.labels[name])
            ):
                return True
        return False

    if isinstance(stage, KeepLabels):
        row.labels = {k: v for k, v in row.labels.items() if named(k) or k.startswith("__error")}
    else:
        row.labels = {k: v for k, v in row.labels.items() if not named(k)}


def _run_stage(stage: Stage, row: _Row) -> bool:
    """Apply one stage; False drops the line."""
    if isinstance(stage, LineFilter):
        return _line_filter(stage, row)
    if isinstance(stage, ParserStage):
        _run_parser(stage, row)
    elif isinstance(stage, LabelFilterStage):
        return _label_filter(stage.filter, row)
    elif isinstance(stage, LineFormat):
        row.line = _render(stage.template, row.labels)
    elif isinstance(stage, LabelFormat):
        _label_format(stage, row)
    elif isinstance(stage, DropLabels | KeepLabels):
        _drop_or_keep(stage, row)
    elif isinstance(stage, Decolorize):
        row.line = re.sub(r"\x1b\[[0-9;]*m", "", row.line)
    return True


def _pipeline(stages: Iterable[Stage], entry: _Entry, hints: _Hints = ALL_LABELS) -> _Row | None:
    row = _Row.of(entry, hints)
    for stage in stages:
        if not _run_stage(stage, row):
            return None
    return row


# ---------------------------------------------------------------------------------------------
# Store and query evaluation
# ---------------------------------------------------------------------------------------------


class _Store:
    """Entries sorted by time; thread-safe appends."""

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.stamps: list[int] = []
        self.lock = threading.Lock()

    def add(self, records: Iterable[LogRecord]) -> None:
        with self.lock:
            entries = sorted([*self.entries, *map(_ingest, records)], key=lambda e: e.ts_ns)
            self.entries, self.stamps = entries, [e.ts_ns for e in entries]

    def select(
        self, selector: StreamSelector, start_ns: int, end_ns: int, right_closed: bool
    ) -> list[_Entry]:
        """Entries of matching streams in [start, end) or, for range windows, (start, end]."""
        entries, stamps = self.entries, self.stamps
        if right_closed:
            lo, hi = bisect.bisect_right(stamps, start_ns), bisect.bisect_right(stamps, end_ns)
        else:
            lo, hi = bisect.bisect_left(stamps, start_ns), bisect.bisect_left(stamps, end_ns)
        return [e for e in entries[lo:hi] if _selects(selector, dict(e.stream))]


def _log_query(store: _Store, expr: LogExpr, start: int, end: int, limit: int, forward: bool) -> list[_Row]:
    rows = []
    for entry in store.select(expr.selector, start, end, right_closed=False):
        row = _pipeline(expr.stages, entry)
        if row is not None:
            rows.append(row)
    rows.sort(key=lambda r: r.entry.ts_ns, reverse=not forward)
    return rows[:limit]


@dataclass
class _Sample:
    """One extracted sample; `error` is the pipeline error Loki raises if a window includes it."""

    ts_ns: int
    key: LabelKey
    value: float
    error: str | None = None


class _MetricEvaluator:
    """Evaluates a metric query at given times; range samples are extracted once per aggregation."""

    def __init__(self, store: _Store, expr: Expr, times: list[int], instant: bool = False) -> None:
        self.store = store
        self.expr = expr
        self.times = times
        self.instant = instant
        self.samples: dict[RangeAggregation, tuple[list[int], list[_Sample]]] = {}
        self.injected = _injected_groupings(expr)

    def at(self, expr: Expr, t: int) -> Vector | float:
        if isinstance(expr, NumberLiteral):
            return expr.value
        if isinstance(expr, VectorLiteral):
            return {(): expr.value}
        if isinstance(expr, RangeAggregation):
            return self.range_aggregation(expr, t)
        if isinstance(expr, VectorAggregation):
            return self.vector_aggregation(expr, t)
        if isinstance(expr, BinaryOp):
            return _binary(expr, self.at(expr.left, t), self.at(expr.right, t))
        if isinstance(expr, LabelReplace):
            raise Unsupported("label_replace")
        raise Unsupported(f"expression {expr}")

    def range_aggregation(self, node: RangeAggregation, t: int) -> Vector:
        stamps, samples = self.extract(node)
        r = node.range
        lo = bisect.bisect_right(stamps, t - r.offset_ns - r.range_ns)
        hi = bisect.bisect_right(stamps, t - r.offset_ns)
        groups: dict[LabelKey, list[_Sample]] = {}
        for sample in samples[lo:hi]:
            if sample.error:
                raise BadRequest(sample.error)
            groups.setdefault(sample.key, []).append(sample)
        split_at = t - r.offset_ns if self.instant else None
        return {k: _range_function(node, group, split_at) for k, group in groups.items()}

    def extract(self, node: RangeAggregation) -> tuple[list[int], list[_Sample]]:
        if node not in self.samples:
            r = node.range
            first = min(self.times) - r.offset_ns - r.range_ns
            entries = self.store.select(
                r.log.selector, first, max(self.times) - r.offset_ns, right_closed=True
            )
            grouping = self.injected.get(node, node.grouping)
            hints = _hints_for(node, grouping)
            samples = [s for e in entries if (s := _sample(node, e, grouping, hints)) is not None]
            self.samples[node] = ([s.ts_ns for s in samples], samples)
        return self.samples[node]

    def vector_aggregation(self, node: VectorAggregation, t: int) -> Vector:
        inner = self.at(node.expr, t)
        if not isinstance(inner, dict):
            raise Unsupported(f"{node.op} over a scalar")
        return _aggregate(node, inner)


def _injected_groupings(expr: Expr) -> dict[RangeAggregation, Grouping]:
    """Range aggregations whose grouping Loki takes from an enclosing ``sum`` (canInjectVectorGrouping)."""
    out = {}
    for node in walk(expr):
        inner = node.expr if isinstance(node, VectorAggregation) else None
        if (
            isinstance(node, VectorAggregation)
            and node.op == "sum"
            and isinstance(inner, RangeAggregation)
            and inner.op in INJECTABLE_RANGE_OPS
            and inner.grouping is None
        ):
            out[inner] = node.grouping or Grouping(())
    return out


def _hints_for(node: RangeAggregation, grouping: Grouping | None) -> _Hints:
    """Loki's NewParserHint: required labels come from filters, templates, grouping and unwrap."""
    if grouping is None:
        return ALL_LABELS
    names = _required_labels(node.range.log.stages) | set(grouping.labels)
    if node.range.unwrap is not None:
        names.add(node.range.unwrap.label)
    names |= {n.removesuffix("_extracted") for n in names}
    if not grouping.labels:
        return _Hints(frozenset(names)) if names else _Hints(frozenset(), skip=True)
    if grouping.without:
        return ALL_LABELS
    return _Hints(frozenset(names))


def _required_labels(stages: Iterable[Stage]) -> set[str]:
    names: set[str] = set()
    for stage in stages:
        if isinstance(stage, LabelFilterStage):
            names |= {
                n.name
                for n in walk(stage.filter)
                if isinstance(n, Matcher | ComparisonFilter | IpLabelFilter)
            }
        elif isinstance(stage, LineFormat):
            names |= set(_TEMPLATE_FIELD.findall(stage.template))
        elif isinstance(stage, LabelFormat):
            for item in stage.items:
                names |= set(_TEMPLATE_FIELD.findall(item.source)) if item.template else {item.source}
    return names


def _sample(
    node: RangeAggregation, entry: _Entry, grouping: Grouping | None, hints: _Hints
) -> _Sample | None:
    """One entry's sample for a range aggregation, or None when the pipeline drops it."""
    r = node.range
    if node.op in ("absent_over_time", "rate_counter"):
        raise Unsupported(node.op)
    row = _pipeline(r.log.stages, entry, hints)
    if row is None:
        return None
    value = 1.0 if node.op in ("count_over_time", "rate") else float(len(row.line.encode()))
    if r.unwrap is not None:
        unwrapped = _unwrap(r.unwrap, row)
        if unwrapped is None:
            return None
        value = unwrapped
    if "__error__" in row.labels and not hints.preserve_error:
        return _Sample(entry.ts_ns, (), value, error=_pipeline_error(row.labels))
    labels = dict(row.labels)
    if r.unwrap is not None:
        labels.pop(r.unwrap.label, None)
    if grouping is not None:
        wanted = set(grouping.labels)
        labels = {k: v for k, v in labels.items() if (k in wanted) != grouping.without}
    return _Sample(entry.ts_ns, _key(labels), value)


def _unwrap(unwrap: Unwrap, row: _Row) -> float | None:
    raw = row.labels.get(unwrap.label, "")
    if raw == "":
        return None  # Loki 3.4 skips lines without the label (metric_quantile_unwrap_latency)
    unit = {"duration": "duration", "duration_seconds": "duration", "bytes": "bytes"}.get(
        unwrap.conversion or "", "number"
    )
    value, error = _convert(raw, unit)
    if value is None:
        row.set_error("SampleExtractionErr", error)
    for post in unwrap.filters:
        if not _label_filter(post, row):
            return None
    return value if value is not None else 0.0


def _pipeline_error(labels: Mapping[str, str]) -> str:
    kind = labels["__error__"]
    series = "{" + ", ".join(f"{k}={escape_logql_string(v)}" for k, v in sorted(labels.items())) + "}"
    return (
        f"pipeline error: '{kind}' for series: '{series}'.\n"
        f'Use a label filter to intentionally skip this error. (e.g | __error__!="{kind}").\n'
        'To skip all potential errors you can match empty errors.(e.g __error__="")\n'
        'The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )\n'
    )


def _range_function(node: RangeAggregation, group: list[_Sample], split_at: int | None) -> float:
    values = [s.value for s in group]
    seconds = node.range.range_ns / NS
    total = _split_sum(group, split_at) if split_at is not None else sum(values)
    functions: dict[str, Callable[[], float]] = {
        "count_over_time": lambda: float(len(values)),
        "rate": lambda: total / seconds,
        "bytes_over_time": lambda: total,
        "bytes_rate": lambda: total / seconds,
        "sum_over_time": lambda: total,
        "avg_over_time": lambda: sum(values) / len(values),
        "min_over_time": lambda: min(values),
        "max_over_time": lambda: max(values),
        "first_over_time": lambda: values[0],
        "last_over_time": lambda: values[-1],
        "stdvar_over_time": lambda: statistics.pvariance(values),
        "stddev_over_time": lambda: statistics.pstdev(values),
        "quantile_over_time": lambda: _quantile(node.param or 0.0, values),
    }
    return functions[node.op]()


def _split_sum(group: list[_Sample], t: int) -> float:
    """Sum as Loki does for instant queries: partial sums per 1h split of the window, oldest first.

    Float sums then match Loki's to the last digit (metric_unwrap_duration_conversion.json)."""
    partial: dict[int, float] = {}
    for sample in group:
        split = (t - sample.ts_ns - 1) // SPLIT_INTERVAL_NS
        partial[split] = partial.get(split, 0.0) + sample.value
    return sum(partial[k] for k in sorted(partial, reverse=True))


def _quantile(q: float, values: list[float]) -> float:
    """Prometheus' quantile: linear interpolation between closest ranks."""
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    weight = rank - low
    return ordered[low] * (1 - weight) + ordered[high] * weight


def _group_key(labels: LabelKey, node: VectorAggregation) -> LabelKey:
    if node.grouping is None:
        return ()
    wanted = set(node.grouping.labels)
    return tuple((k, v) for k, v in labels if (k in wanted) != node.grouping.without)


def _aggregate(node: VectorAggregation, vector: Vector) -> Vector:
    groups: dict[LabelKey, list[tuple[LabelKey, float]]] = {}
    for labels, value in vector.items():
        groups.setdefault(_group_key(labels, node), []).append((labels, value))
    if node.op in ("topk", "bottomk"):
        out: Vector = {}
        for members in groups.values():
            ranked = sorted(members, key=lambda m: (-m[1] if node.op == "topk" else m[1], m[0]))
            out.update(ranked[: node.param or 0])
        return out
    if node.op in ("sort", "sort_desc"):
        return dict(sorted(vector.items(), key=lambda m: m[1], reverse=node.op == "sort_desc"))
    reducers: dict[str, Callable[[list[float]], float]] = {
        "sum": sum,
        "avg": statistics.fmean,
        "min": min,
        "max": max,
        "count": lambda v: float(len(v)),
        "stddev": statistics.pstdev,
        "stdvar": statistics.pvariance,
    }
    return {key: reducers[node.op]([v for _, v in members]) for key, members in groups.items()}


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else math.nan,
    "%": lambda a, b: math.fmod(a, b) if b else math.nan,
    "^": lambda a, b: math.pow(a, b),
}
_COMPARISONS = {k: v for k, v in _COMPARE.items() if k != "="}


def _binary(node: BinaryOp, left: Vector | float, right: Vector | float) -> Vector | float:
    if node.matching is not None and node.matching.group is not None:
        raise Unsupported("group_left/group_right")
    if not isinstance(left, dict) and not isinstance(right, dict):
        return _scalar_op(node.op, left, right)
    if isinstance(left, dict) and isinstance(right, dict):
        return _vector_vector(node, left, right)
    if node.op in ("and", "or", "unless"):
        raise Unsupported(f"{node.op} with a scalar")
    return _vector_scalar(node, left, right)


def _scalar_op(op: str, a: float, b: float) -> float:
    if op in _COMPARISONS:
        return 1.0 if _COMPARISONS[op](a, b) else 0.0
    return _ARITHMETIC[op](a, b)


def _vector_scalar(node: BinaryOp, left: Vector | float, right: Vector | float) -> Vector:
    out: Vector = {}
    vector, scalar, swapped = (left, right, False) if isinstance(left, dict) else (right, left, True)
    assert isinstance(vector, dict) and not isinstance(scalar, dict)
    for labels, value in vector.items():
        a, b = (scalar, value) if swapped else (value, scalar)
        if node.op in _COMPARISONS:
            hit = _COMPARISONS[node.op](a, b)
            if node.return_bool:
                out[labels] = 1.0 if hit else 0.0
            elif hit:
                out[labels] = value
        else:
            out[labels] = _ARITHMETIC[node.op](a, b)
    return out


def _signature(labels: LabelKey, node: BinaryOp) -> LabelKey:
    if node.matching is None:
        return labels
    wanted = set(node.matching.labels)
    return tuple((k, v) for k, v in labels if (k in wanted) == node.matching.on)


def _vector_vector(node: BinaryOp, left: Vector, right: Vector) -> Vector:
    right_by_sig: dict[LabelKey, tuple[LabelKey, float]] = {}
    for labels, value in right.items():
        sig = _signature(labels, node)
        if sig in right_by_sig:
            raise Unsupported("many-to-many vector matching")
        right_by_sig[sig] = (labels, value)
    if node.op == "or":
        sigs = {_signature(k, node) for k in left}
        return {**left, **{k: v for k, v in right.items() if _signature(k, node) not in sigs}}
    if node.op in ("and", "unless"):
        return {k: v for k, v in left.items() if (_signature(k, node) in right_by_sig) == (node.op == "and")}
    out: Vector = {}
    for labels, value in left.items():
        match = right_by_sig.get(_signature(labels, node))
        if match is None:
            continue
        result_labels = _signature(labels, node) if node.matching else labels
        if node.op in _COMPARISONS:
            hit = _COMPARISONS[node.op](value, match[1])
            if node.return_bool:
                out[result_labels] = 1.0 if hit else 0.0
            elif hit:
                out[labels] = value
        else:
            out[result_labels] = _ARITHMETIC[node.op](value, match[1])
    return out


# ---------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------


def format_value(value: float) -> str:
    """A sample value as Go's strconv.FormatFloat(v, 'f', -1, 64) writes it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _seconds(ts_ns: int) -> int | float:
    return ts_ns // NS if ts_ns % NS == 0 else round(ts_ns / NS, 3)


def _stats(returned: int = 0, lines: int = 0, size: int = 0) -> dict[str, Any]:
    """A `stats` block shaped like the recorded ones (timings zero, line and byte counts filled in)."""
    chunk = {
        k: 0
        for k in (
            "headChunkBytes",
            "headChunkLines",
            "decompressedBytes",
            "decompressedLines",
            "compressedBytes",
            "totalDuplicates",
            "postFilterLines",
            "headChunkStructuredMetadataBytes",
            "decompressedStructuredMetadataBytes",
        )
    }
    store = {
        "totalChunksRef": 0,
        "totalChunksDownloaded": 0,
        "chunksDownloadTime": 0,
        "queryReferencedStructuredMetadata": False,
        "chunk": chunk,
        "chunkRefsFetchTime": 0,
        "congestionControlLatency": 0,
        "pipelineWrapperFilteredLines": 0,
    }
    cache = {
        k: 0
        for k in (
            "entriesFound",
            "entriesRequested",
            "entriesStored",
            "bytesReceived",
            "bytesSent",
            "requests",
            "downloadTime",
            "queryLengthServed",
        )
    }
    caches = (
        "chunk",
        "index",
        "result",
        "statsResult",
        "volumeResult",
        "seriesResult",
        "labelResult",
        "instantMetricResult",
    )
    return {
        "summary": {
            "bytesProcessedPerSecond": 0,
            "linesProcessedPerSecond": 0,
            "totalBytesProcessed": size,
            "totalLinesProcessed": lines,
            "execTime": 0.0,
            "queueTime": 0.0,
            "subqueries": 0,
            "totalEntriesReturned": returned,
            "splits": 1,
            "shards": 1,
            "totalPostFilterLines": lines,
            "totalStructuredMetadataBytesProcessed": 0,
        },
        "querier": {"store": json.loads(json.dumps(store))},
        "ingester": {
            "totalReached": 1,
            "totalChunksMatched": 0,
            "totalBatches": 1,
            "totalLinesSent": returned,
            "store": json.loads(json.dumps(store)),
        },
        "cache": {name: dict(cache) for name in caches},
        "index": {"totalChunks": 0, "postFilterChunks": 0, "shardsDuration": 0, "usedBloomFilters": False},
    }


def _streams(rows: list[_Row], categorize: bool) -> list[dict[str, Any]]:
    """Group rows into result streams (by all labels, or by index labels when categorized)."""
    streams: dict[LabelKey, list[Any]] = {}
    for row in rows:
        key = row.entry.stream if categorize else _key(row.labels)
        value: list[Any] = [str(row.entry.ts_ns), row.line]
        if categorize:
            value.append(_categories(row))
        streams.setdefault(key, []).append(value)
    return [{"stream": dict(key), "values": values} for key, values in sorted(streams.items())]


def _categories(row: _Row) -> dict[str, dict[str, str]]:
    metadata = {k: v for k, v in row.labels.items() if k in dict(row.entry.metadata)}
    parsed = {k: v for k, v in row.labels.items() if k in row.parsed or k.startswith("__error")}
    out = {"structuredMetadata": metadata}
    if parsed:
        out["parsed"] = parsed
    return out


def _query_body(result_type: str, result: Any, stats: dict[str, Any], flags: list[str] | None = None) -> Any:
    data: dict[str, Any] = {"resultType": result_type}
    if flags:
        data["encodingFlags"] = flags
    data["result"] = result
    data["stats"] = stats
    return {"status": "success", "data": data}


# ---------------------------------------------------------------------------------------------
# Request parameters
# ---------------------------------------------------------------------------------------------

_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def _seconds_ns(value: str) -> int | None:
    """Nanoseconds for a decimal number of seconds (`1.5`, `60`), else None."""
    return round(Decimal(value) * NS) if _DECIMAL.fullmatch(value) else None


def parse_time(value: str) -> int:
    """Nanoseconds from Loki's accepted forms: ns or s integers, fractional seconds, RFC3339."""
    if "." in value and _seconds_ns(value) is not None:
        return _seconds_ns(value) or 0
    if re.fullmatch(r"[+-]?[0-9]+", value):
        number = int(value)
        return number * NS if len(value) <= 10 else number
    m = _RFC3339.fullmatch(value)
    if not m:
        raise ValueError(f'strconv.ParseInt: parsing "{value}": invalid syntax')
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    zone = m.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    fraction = int((m.group(7) or ".0")[1:].ljust(9, "0")[:9])
    return seconds * NS + fraction


class _Params:
    """Query-string and form parameters of one request."""

    def __init__(self, pairs: list[tuple[str, str]], now_ns: int) -> None:
        self.pairs = pairs
        self.now_ns = now_ns

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.pairs if k == name), None)

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]

    def time(self, name: str, default: int) -> int:
        value = self.get(name)
        if not value:
            return default
        try:
            return parse_time(value)
        except ValueError as exc:
            raise BadRequest(f"could not parse '{name}' parameter: {exc}") from None

    def bounds(self, default_since_ns: int) -> tuple[int, int]:
        end = self.time("end", self.now_ns)
        start = self.time("start", end - default_since_ns)
        if end <= start:
            raise BadRequest(ERRORS["end_before_start"])
        return start, end

    def limit(self) -> int:
        value = self.get("limit")
        if not value:
            return DEFAULT_LIMIT
        try:
            limit = int(value)
        except ValueError:
            raise BadRequest(f'strconv.ParseUint: parsing "{value}": invalid syntax') from None
        if limit <= 0:
            raise BadRequest(ERRORS["limit"])
        return limit

    def forward(self) -> bool:
        value = self.get("direction") or "backward"
        if value.upper() not in ("FORWARD", "BACKWARD"):
            raise BadRequest(f"invalid direction '{value}'")
        return value.upper() == "FORWARD"

    def step(self, start: int, end: int) -> int:
        value = self.get("step")
        if not value:
            return max(math.floor((end - start) / NS / 250), 1) * NS
        step = _seconds_ns(value)
        if step is None:
            step = parse_prometheus_duration(value)
        if step is None:
            raise BadRequest(f'cannot parse "{value}" to a valid duration')
        if step <= 0:
            raise BadRequest(ERRORS["negative_step"])
        if (end - start) // step > MAX_POINTS:
            raise BadRequest(ERRORS["step_too_small"])
        return step

    def query(self, name: str = "query") -> LogQLQuery:
        try:
            return parse_logql(self.get(name) or "")
        except LogQLSyntaxError as exc:
            raise BadRequest(exc.detail) from None


def _selector_only(query: LogQLQuery) -> StreamSelector:
    if not isinstance(query.expr, LogExpr) or query.expr.stages:
        raise BadRequest(ERRORS["matchers_only"])
    return query.expr.selector


# ---------------------------------------------------------------------------------------------
# The HTTP application
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """What the double was asked: method, path, parameters (query string and form) and headers."""

    method: str
    path: str
    params: list[tuple[str, str]]
    headers: dict[str, str]


@dataclass
class _Fault:
    status: int
    body: str
    garbage: bool = False


class LokiApp:
    """The ASGI application: Loki's read API over a `_Store`, plus fault injection."""

    def __init__(self, store: _Store, now_ns: Callable[[], int]) -> None:
        self.store = store
        self.now_ns = now_ns
        self.faults: list[_Fault] = []
        self.delay_seconds = 0.0
        self.requests: list[RecordedRequest] = []
        self.lock = threading.Lock()
        self.routes: dict[str, tuple[tuple[str, ...], Callable[[_Params, Request], Response]]] = {
            "/ready": (("GET",), lambda p, r: Response("ready\n", media_type=TEXT_TYPE)),
            "/loki/api/v1/status/buildinfo": (("GET",), lambda p, r: _json(BUILD_INFO, "application/json")),
            "/loki/api/v1/query_range": (("GET", "POST"), self.query_range),
            "/loki/api/v1/query": (("GET", "POST"), self.query),
            "/loki/api/v1/labels": (("GET", "POST"), self.labels),
            "/loki/api/v1/series": (("GET", "POST"), self.series),
            "/loki/api/v1/index/stats": (("GET", "POST"), self.index_stats),
            "/loki/api/v1/index/volume": (("GET", "POST"), self.index_volume),
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        params = await self.params(request)
        self.record(request, params)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        response = self.respond(request, params)
        await response(scope, receive, send)

    async def params(self, request: Request) -> _Params:
        pairs = list(request.query_params.multi_items())
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            pairs += parse_qsl((await request.body()).decode(), keep_blank_values=True)
        return _Params(pairs, self.now_ns())

    def record(self, request: Request, params: _Params) -> None:
        with self.lock:
            self.requests.append(
                RecordedRequest(request.method, request.url.path, params.pairs, dict(request.headers))
            )

    def respond(self, request: Request, params: _Params) -> Response:
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault and not fault.garbage:
            return Response(fault.body, status_code=fault.status, media_type=TEXT_TYPE)
        response = self.dispatch(request, params)
        if fault:
            return Response(bytes(response.body)[: max(1, len(response.body) // 2)], media_type=JSON_TYPE)
        return response

    def dispatch(self, request: Request, params: _Params) -> Response:
        path = request.url.path
        label_values = re.fullmatch(r"/loki/api/v1/label/([^/]+)/values", path)
        methods: tuple[str, ...]
        if label_values:
            methods, handler = ("GET", "POST"), lambda p, r: self.label_values(p, label_values.group(1))
        elif path in self.routes:
            methods, handler = self.routes[path]
        else:
            return Response("404 page not found\n", status_code=404, media_type=TEXT_TYPE)
        if request.method not in methods:
            return Response(b"", status_code=405)
        try:
            return handler(params, request)
        except (BadRequest, Unsupported) as exc:
            text = f"double: unsupported query feature: {exc}" if isinstance(exc, Unsupported) else str(exc)
            return Response(text, status_code=400, media_type=TEXT_TYPE)

    # -- queries --------------------------------------------------------------------------------

    def query_range(self, params: _Params, request: Request) -> Response:
        start, end = params.bounds(3600 * NS)
        limit = params.limit()
        forward = params.forward()
        step = params.step(start, end)
        query = params.query()
        if isinstance(query.expr, LogExpr):
            if limit > MAX_LIMIT:
                raise BadRequest(
                    "max entries limit per query exceeded, limit > max_entries_limit_per_query "
                    f"({limit} > {MAX_LIMIT})"
                )
            categorize = "categorize-labels" in request.headers.get("x-loki-response-encoding-flags", "")
            rows = _log_query(self.store, query.expr, start, end, limit, forward)
            stats = _stats(len(rows), len(rows), sum(len(r.line.encode()) for r in rows))
            flags = ["categorize-labels"] if categorize else None
            return _json(_query_body("streams", _streams(rows, categorize), stats, flags))
        times = list(range(start - start % step, end + (-end % step) + 1, step))
        if step >= SPLIT_INTERVAL_NS:
            # Loki splits such queries by step and never evaluates the first aligned step
            # (metric_topk_bytes_over_time.json, index_volume_range.json).
            times = times[1:] or times
        return _json(_query_body("matrix", self.matrix(query.expr, times), _stats()))

    def matrix(self, expr: Expr, times: list[int]) -> list[dict[str, Any]]:
        evaluator = _MetricEvaluator(self.store, expr, times)
        series: dict[LabelKey, list[list[Any]]] = {}
        for t in times:
            value = evaluator.at(expr, t)
            vector = value if isinstance(value, dict) else {(): value}
            for labels, v in vector.items():
                series.setdefault(labels, []).append([_seconds(t), format_value(v)])
        return [{"metric": dict(k), "values": v} for k, v in sorted(series.items())]

    def query(self, params: _Params, request: Request) -> Response:
        t = params.time("time", params.now_ns)
        params.limit()
        params.forward()
        query = params.query()
        if isinstance(query.expr, LogExpr):
            raise BadRequest(ERRORS["instant_log"])
        value = _MetricEvaluator(self.store, query.expr, [t], instant=True).at(query.expr, t)
        if not isinstance(value, dict):
            return _json(_query_body("scalar", [_scalar_timestamp(t), format_value(value)], _stats()))
        items = list(value.items())
        root = query.expr
        if not (isinstance(root, VectorAggregation) and root.op in ("sort", "sort_desc")):
            items.sort()
        result = [{"metric": dict(k), "value": [_seconds(t), format_value(v)]} for k, v in items]
        return _json(_query_body("vector", result, _stats()))

    # -- labels, series, index --------------------------------------------------------------------

    def streams_in(self, params: _Params, selectors: list[StreamSelector]) -> list[LabelKey]:
        start, end = params.bounds(6 * 3600 * NS)
        found = {e.stream for e in self.store.entries if start <= e.ts_ns <= end}
        if selectors:
            found = {s for s in found if any(_selects(sel, dict(s)) for sel in selectors)}
        return sorted(found)

    def optional_selector(self, params: _Params) -> list[StreamSelector]:
        return list(params.query().selectors) if params.get("query") else []

    def labels(self, params: _Params, request: Request) -> Response:
        streams = self.streams_in(params, self.optional_selector(params))
        return _json(_names_body(sorted({k for s in streams for k, _ in s})))

    def label_values(self, params: _Params, name: str) -> Response:
        streams = self.streams_in(params, self.optional_selector(params))
        return _json(_names_body(sorted({v for s in streams for k, v in s if k == name})))

    def series(self, params: _Params, request: Request) -> Response:
        selectors = []
        for text in params.getlist("match[]"):
            try:
                selectors.append(_selector_only(parse_logql(text)))
            except LogQLSyntaxError as exc:
                raise BadRequest(exc.detail) from None
        streams = self.streams_in(params, selectors)
        return _json(_names_body([dict(s) for s in streams]))

    def matching_entries(self, params: _Params) -> tuple[list[_Entry], StreamSelector, int]:
        selector = _selector_only(params.query())
        start, end = params.bounds(3600 * NS)
        return [e for e in self.store.select(selector, start, end, right_closed=False)], selector, end

    def index_stats(self, params: _Params, request: Request) -> Response:
        entries, _, _ = self.matching_entries(params)
        streams = {e.stream for e in entries}
        size = sum(len(e.line.encode()) for e in entries)
        return _json(
            {"streams": len(streams), "chunks": len(streams), "bytes": size, "entries": len(entries)}
        )

    def index_volume(self, params: _Params, request: Request) -> Response:
        entries, selector, end = self.matching_entries(params)
        targets = [t for t in (params.get("targetLabels") or "").split(",") if t]
        by_labels = params.get("aggregateBy") == "labels"
        names = targets or list(dict.fromkeys(m.name for m in selector.matchers))
        volume: dict[LabelKey, int] = {}
        for entry in entries:
            stream = dict(entry.stream)
            keys = (
                [((k, ""),) for k in stream if not targets or k in targets]
                if by_labels
                else [tuple((k, stream[k]) for k in names if k in stream)]
            )
            for key in keys:
                volume[key] = volume.get(key, 0) + len(entry.line.encode())
        ranked = sorted(volume.items(), key=lambda kv: (-kv[1], kv[0]))[: int(params.get("limit") or 100)]
        result = [{"metric": dict(k), "value": [_seconds(end), str(v)]} for k, v in ranked]
        return _json(_query_body("vector", result, _stats()))


def _names_body(names: list[Any]) -> dict[str, Any]:
    """Loki leaves `data` out entirely when there is nothing to list."""
    return {"status": "success", "data": names} if names else {"status": "success"}


def _scalar_timestamp(t_ns: int) -> int:
    """Loki 3.4.2 stamps instant scalars with `int64(t_ns * 1000) / 1e6`, overflowed (instant_scalar.json)."""
    wrapped = (t_ns * 1000) % 2**64
    signed = wrapped - 2**64 if wrapped >= 2**63 else wrapped
    return int(signed / 1_000_000)


def _json(body: Any, media_type: str = JSON_TYPE) -> Response:
    return Response(json.dumps(body, separators=(",", ":"), ensure_ascii=False), media_type=media_type)


# ---------------------------------------------------------------------------------------------
# Server lifecycle
# ---------------------------------------------------------------------------------------------


class LokiDouble:
    """The Loki double served over HTTP on 127.0.0.1 (a free port) from a background thread.

    ``with LokiDouble(records) as loki: loki.url`` starts and stops it; `add()` adds records later."""

    def __init__(self, records: Iterable[LogRecord] = (), now_ns: Callable[[], int] = time.time_ns) -> None:
        self.store = _Store()
        self.store.add(records)
        self.app = LokiApp(self.store, now_ns)
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.socket: socket.socket | None = None

    def __enter__(self) -> LokiDouble:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:PORT``."""
        if self.socket is None:
            raise RuntimeError("the Loki double is not running")
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far, oldest first."""
        with self.app.lock:
            return list(self.app.requests)

    @property
    def delay_seconds(self) -> float:
        """Seconds to wait before answering each request (0 by default)."""
        return self.app.delay_seconds

    @delay_seconds.setter
    def delay_seconds(self, value: float) -> None:
        self.app.delay_seconds = value

    def add(self, records: Iterable[LogRecord]) -> None:
        """Make more entries visible immediately."""
        self.store.add(records)

    def fail_next(self, status: int = 500, body: str = "internal error", count: int = 1) -> None:
        """Answer the next `count` requests with `status` and a text/plain `body`."""
        with self.app.lock:
            self.app.faults.extend(_Fault(status, body) for _ in range(count))

    def garbage_next(self, count: int = 1) -> None:
        """Answer the next `count` requests with 200 and the first half of the real JSON body."""
        with self.app.lock:
            self.app.faults.extend(_Fault(200, "", garbage=True) for _ in range(count))

    def start(self) -> None:
        """Bind a free port on 127.0.0.1 and serve until `stop()`."""
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the Loki double did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
        if self.socket is not None:
            self.socket.close()
        self.server = self.thread = self.socket = None
