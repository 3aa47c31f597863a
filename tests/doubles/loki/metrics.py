"""Metric queries: samples extracted from log ranges, range and vector aggregations, evaluated at the
step times of a query (with Loki's parser hints, grouping injection and instant-query splits)."""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from aiops_mcp.analysis.series import percentile
from aiops_mcp.query.logql import (
    BinaryOp,
    ComparisonFilter,
    Expr,
    Grouping,
    IpLabelFilter,
    LabelFilterStage,
    LabelFormat,
    LabelReplace,
    LineFormat,
    Matcher,
    NumberLiteral,
    RangeAggregation,
    Stage,
    Unwrap,
    VectorAggregation,
    VectorLiteral,
    escape_logql_string,
    walk,
)
from tests.doubles.loki.dataset import NS, Entry, LabelKey, label_key
from tests.doubles.loki.errors import BadRequest, Unsupported
from tests.doubles.loki.operators import Vector, binary
from tests.doubles.loki.pipeline import (
    ALL_LABELS,
    TEMPLATE_FIELD,
    Hints,
    Row,
    convert,
    label_filter,
    run_pipeline,
)
from tests.doubles.loki.store import Store

SPLIT_INTERVAL_NS = 3600 * NS  # split_queries_by_interval in the recorded Loki's config
INJECTABLE_RANGE_OPS = ("bytes_over_time", "bytes_rate", "sum_over_time", "rate", "count_over_time")


@dataclass
class _Sample:
    """One extracted sample; `error` is the pipeline error Loki raises if a window includes it."""

    ts_ns: int
    key: LabelKey
    value: float
    error: str | None = None


class MetricEvaluator:
    """Evaluates a metric query at given times; range samples are extracted once per aggregation."""

    def __init__(self, store: Store, expr: Expr, times: list[int], instant: bool = False) -> None:
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
            return binary(expr, self.at(expr.left, t), self.at(expr.right, t))
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


def _hints_for(node: RangeAggregation, grouping: Grouping | None) -> Hints:
    """Loki's NewParserHint: required labels come from filters, templates, grouping and unwrap."""
    if grouping is None:
        return ALL_LABELS
    names = _required_labels(node.range.log.stages) | set(grouping.labels)
    if node.range.unwrap is not None:
        names.add(node.range.unwrap.label)
    names |= {n.removesuffix("_extracted") for n in names}
    if not grouping.labels:
        return Hints(frozenset(names)) if names else Hints(frozenset(), skip=True)
    if grouping.without:
        return ALL_LABELS
    return Hints(frozenset(names))


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
            names |= set(TEMPLATE_FIELD.findall(stage.template))
        elif isinstance(stage, LabelFormat):
            for item in stage.items:
                names |= set(TEMPLATE_FIELD.findall(item.source)) if item.template else {item.source}
    return names


def _sample(node: RangeAggregation, entry: Entry, grouping: Grouping | None, hints: Hints) -> _Sample | None:
    """One entry's sample for a range aggregation, or None when the pipeline drops it."""
    r = node.range
    if node.op in ("absent_over_time", "rate_counter"):
        raise Unsupported(node.op)
    row = run_pipeline(r.log.stages, entry, hints)
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
    return _Sample(entry.ts_ns, label_key(labels), value)


def _unwrap(unwrap: Unwrap, row: Row) -> float | None:
    raw = row.labels.get(unwrap.label, "")
    if raw == "":
        return None  # Loki 3.4 skips lines without the label (metric_quantile_unwrap_latency)
    unit = {"duration": "duration", "duration_seconds": "duration", "bytes": "bytes"}.get(
        unwrap.conversion or "", "number"
    )
    value, error = convert(raw, unit)
    if value is None:
        row.set_error("SampleExtractionErr", error)
    for post in unwrap.filters:
        if not label_filter(post, row):
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
    """Prometheus' quantile: linear interpolation between closest ranks, ±Inf outside 0..1."""
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    return percentile(sorted(values), q)


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
