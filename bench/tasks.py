"""The questions both MCP servers are timed on, each asked three ways: our tool, the peer's tool and
Prometheus' own HTTP API, with the same query, times and step, so all three fetch the same data.

`same_numbers` checks that the three answers agree: the peer's values equal Prometheus' to the
character, and ours equal them to the 4 significant digits our results carry (per-series
min/max/mean/last computed here, independently, from Prometheus' samples).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mcp_types import CallToolResult

from aiops_mcp.analysis.series import round_sig
from aiops_mcp.query.step import auto_step
from aiops_mcp.settings import Settings

ERROR_RATIO = (
    'sum by (job, env) (rate(http_requests_total{status=~"5.."}[5m]))'
    " / sum by (job, env) (rate(http_requests_total[5m]))"
)
MANY_SERIES = 'rate({__name__=~"http_requests_total|http_request_duration_seconds_bucket"}[5m])'
"""31 series: request rates and latency-bucket rates (the core benchmark's size row)."""

Call = tuple[str, dict[str, Any]]
"""A tool name and its arguments."""
Key = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Task:
    """One question: what our server, the peer and Prometheus are each sent."""

    name: str
    kind: Literal["instant", "range", "names"]
    ours: Call
    peer: Call
    path: str
    params: dict[str, str]

    @property
    def method(self) -> str:
        return "GET" if self.kind == "names" else "POST"


def instant(name: str, query: str, at: float) -> Task:
    args = {"query": query, "time": str(int(at))}
    return Task(name, "instant", ("prometheus_query", args), ("execute_query", args), "/api/v1/query", args)


def ranged(name: str, query: str, end: float, hours: float, step: float | None = None) -> Task:
    """A range of `hours` ending at `end`, at our server's default resolution unless `step` is given;
    start and end fall on the step, so our alignment changes nothing."""
    seconds = step or auto_step(hours * 3600, Settings.model_fields["query_max_points"].default)
    stop = math.floor(end / seconds) * seconds
    span = {"start": str(int(stop - hours * 3600)), "end": str(int(stop))}
    ours = {"query": query, **span, "step": f"{seconds:g}s"}
    direct = {"query": query, **span, "step": f"{seconds:g}"}
    return Task(
        name,
        "range",
        ("prometheus_query_range", ours),
        ("execute_range_query", ours),
        "/api/v1/query_range",
        direct,
    )


def metric_names() -> Task:
    """Our find_metrics also reads metadata (a second request); the peer's name cache is bypassed."""
    return Task(
        "listing metric names",
        "names",
        ("prometheus_find_metrics", {}),
        ("list_metrics", {"refresh_cache": True}),
        "/api/v1/label/__name__/values",
        {},
    )


def standard_tasks(end: float) -> list[Task]:
    """The six tasks of the comparison, on the generated world ending at `end` (unix seconds)."""
    return [
        instant("instant query, every `up` series", "up", end),
        instant("error ratio per service", ERROR_RATIO, end),
        ranged("24 h range, one series", 'process_resident_memory_bytes{instance="abc-1:8080"}', end, 24),
        ranged("24 h range, 31 series", MANY_SERIES, end, 24),
        ranged("48 h range, every http_requests_total", "http_requests_total", end, 48),
        metric_names(),
    ]


def result_data(result: CallToolResult) -> Any:
    """A tool answer's structured content (FastMCP and our server both send it)."""
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise AssertionError(f"tool error: {text[:300]}")
    return result.structured_content or {}


def same_numbers(task: Task, direct: Any, ours: Any, peer: Any | None) -> dict[str, Any]:
    """Compare the three answers (Prometheus' `data`, our and the peer's structured content).

    Returns what was checked; raises AssertionError naming the first difference.
    """
    if task.kind == "names":
        names = set(direct)
        assert set(ours["names"]) == names and ours["total"] == len(names), "our names differ"
        assert peer is None or set(peer["metrics"]) == names, "the peer's names differ"
        return {"names": len(names)}
    raw = {_key(item["metric"]): item for item in direct["result"]}
    if peer is not None:
        assert {_key(i["metric"]): i for i in peer["result"]} == raw, (
            "the peer's series differ from Prometheus'"
        )
    assert ours["series_total"] == len(raw), (
        f"we counted {ours['series_total']} series, Prometheus {len(raw)}"
    )
    for series in ours["series"]:
        item = raw[_key(series["labels"])]
        if task.kind == "instant":
            assert series["points"][-1][1] == round_sig(float(item["value"][1])), f"value differs: {item}"
        else:
            _check_stats(series["stats"], [float(v) for _, v in item["values"]], series["labels"])
    return {"series": len(raw), "checked": len(ours["series"])}


def _check_stats(stats: Mapping[str, Any], values: list[float], labels: Mapping[str, str]) -> None:
    finite = [v for v in values if not math.isnan(v)]
    exact = {
        "min": min(finite),
        "max": max(finite),
        "mean": math.fsum(finite) / len(finite),
        "last": finite[-1],
    }
    for name, value in exact.items():
        assert stats[name] == round_sig(value), f"{name} of {dict(labels)}: ours {stats[name]}, exact {value}"
    assert stats["samples"] == len(values), f"samples of {dict(labels)}"


def _key(labels: Mapping[str, str]) -> Key:
    return frozenset(labels.items())
