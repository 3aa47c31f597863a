"""Client for the Prometheus HTTP API (`/api/v1`), as served by Prometheus 2.x and compatibles.

Times are unix seconds and steps are seconds, both floats. Instant and range queries are sent
as POST forms so long expressions do not hit URL length limits.

Prometheus 2.42 has no `limit` parameter on `series`, `labels` and `label/<name>/values` (it came
in 2.51), so those methods fetch the full list (bounded by the response-size cap), cut it
client-side and return a `Listing` that says how many existed.

The metric result encoding (matrix, vector, scalar) is shared with Loki: `parse_query_data`.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from aiops_mcp.datasources.http import BackendClient, Params, Readiness, Reply
from aiops_mcp.datasources.models import Listing, QueryData, Series

T = TypeVar("T")
_METRIC_TYPES = ("matrix", "vector", "scalar", "string")


@dataclass(slots=True)
class MetricMetadata:
    """Type, help and unit of one metric, as reported by its targets."""

    metric: str
    type: str
    help: str
    unit: str


@dataclass(slots=True)
class Alert:
    """An active (pending or firing) alert of an alerting rule."""

    labels: dict[str, str]
    annotations: dict[str, str]
    state: str
    active_at: str | None
    value: float


@dataclass(slots=True)
class Rule:
    """A recording or alerting rule with its evaluation health."""

    name: str
    type: str
    query: str
    health: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: str | None
    duration: float
    last_error: str | None
    alerts: list[Alert]


@dataclass(slots=True)
class RuleGroup:
    """A rule group from a rule file."""

    name: str
    file: str
    interval: float
    rules: list[Rule]


class PrometheusClient(BackendClient):
    """Prometheus HTTP API. Results may come from the shared cache: treat them as read-only."""

    async def query(self, expr: str, time: float, *, cache: bool = True) -> QueryData:
        """Evaluate `expr` at `time` (instant query)."""
        params = {"query": expr, "time": format_seconds(time)}
        return await self.request("/api/v1/query", params, method="POST", parse=self._query_data, cache=cache)

    async def query_range(
        self, expr: str, start: float, end: float, step: float, *, cache: bool = True
    ) -> QueryData:
        """Evaluate `expr` from `start` to `end` every `step` seconds (pass step-aligned times)."""
        params = {
            "query": expr,
            "start": format_seconds(start),
            "end": format_seconds(end),
            "step": format_seconds(step),
        }
        return await self.request(
            "/api/v1/query_range", params, method="POST", parse=self._query_data, cache=cache
        )

    async def series(
        self,
        match: Sequence[str],
        start: float | None = None,
        end: float | None = None,
        limit: int | None = None,
    ) -> Listing[dict[str, str]]:
        """Label sets of the series matching any of the `match` selectors."""
        params = _range_params(match, start, end)
        return _cut(await self.request("/api/v1/series", params, parse=self._listing), limit)

    async def labels(
        self,
        match: Sequence[str] = (),
        start: float | None = None,
        end: float | None = None,
        limit: int | None = None,
    ) -> Listing[str]:
        """Label names, optionally only those of series matching `match`."""
        params = _range_params(match, start, end)
        return _cut(await self.request("/api/v1/labels", params, parse=self._listing), limit)

    async def label_values(
        self,
        name: str,
        match: Sequence[str] = (),
        start: float | None = None,
        end: float | None = None,
        limit: int | None = None,
    ) -> Listing[str]:
        """Values of label `name`, optionally only in series matching `match`."""
        path = f"/api/v1/label/{quote(name, safe='')}/values"
        params = _range_params(match, start, end)
        return _cut(await self.request(path, params, parse=self._listing), limit)

    async def metric_names(
        self,
        match: Sequence[str] = (),
        start: float | None = None,
        end: float | None = None,
        limit: int | None = None,
    ) -> Listing[str]:
        """Metric names (the values of `__name__`)."""
        return await self.label_values("__name__", match, start, end, limit)

    async def metadata(self, metric: str | None = None, limit: int | None = None) -> Listing[MetricMetadata]:
        """Type, help and unit per metric, sorted by name; fetches `limit + 1` to detect truncation."""
        params: dict[str, str] = {}
        if metric is not None:
            params["metric"] = metric
        if limit is not None:
            params["limit"] = str(limit + 1)
        data, warnings = await self.request("/api/v1/metadata", params, parse=self._envelope)
        # Targets usually agree on a metric's metadata: the first entry speaks for it.
        items = sorted(
            (
                MetricMetadata(name, e.get("type", ""), e.get("help", ""), e.get("unit", ""))
                for name, entries in (data or {}).items()
                for e in entries[:1]
            ),
            key=attrgetter("metric"),
        )
        if limit is not None and len(items) > limit:
            return Listing(items[:limit], None, warnings)
        return Listing(items, len(items), warnings)

    async def alerts(self, *, cache: bool = False) -> list[Alert]:
        """Alerts currently pending or firing (live state: not cached unless asked)."""
        data, _ = await self.request("/api/v1/alerts", parse=self._envelope, cache=cache)
        return [_alert(a) for a in data["alerts"]]

    async def rules(
        self, type: Literal["alert", "record"] | None = None, *, cache: bool = False
    ) -> list[RuleGroup]:
        """Rule groups with their rules, health and active alerts (live state: not cached unless asked)."""
        params = {"type": type} if type else None
        data, _ = await self.request("/api/v1/rules", params, parse=self._envelope, cache=cache)
        return [_group(g) for g in data["groups"]]

    async def buildinfo(self) -> dict[str, str]:
        """Version, revision, branch, build user/date and Go version."""
        data, _ = await self.request("/api/v1/status/buildinfo", parse=self._envelope)
        return {str(k): str(v) for k, v in data.items()}

    async def ready(self) -> Readiness:
        """Whether Prometheus is ready to serve queries (`/-/ready`)."""
        return await self._readiness("/-/ready")

    def _envelope(self, reply: Reply) -> tuple[Any, list[str]]:
        """`data` and `warnings` of a `{"status": "success", ...}` answer."""
        doc = self.decode_json(reply)
        if not isinstance(doc, dict) or doc.get("status") != "success":
            raise self.invalid(reply, f"expected a success envelope, got {str(doc)[:200]}")
        return doc.get("data"), [str(w) for w in doc.get("warnings") or ()]

    def _query_data(self, reply: Reply) -> QueryData:
        data, warnings = self._envelope(reply)
        return parse_query_data(data, warnings)

    def _listing(self, reply: Reply) -> Listing[Any]:
        data, warnings = self._envelope(reply)
        items = list(data or ())
        return Listing(items, len(items), warnings)


def parse_query_data(data: Any, warnings: list[str] | None = None) -> QueryData:
    """A query's `data` ({resultType, result}) in Prometheus' metric encoding, as `QueryData`.

    Values are strings ("1.5", "NaN", "+Inf") turned into floats; a vector sample becomes a
    one-point series and a scalar a one-point series without labels. A string result carries no
    series. Shape errors raise KeyError/TypeError/ValueError (the caller maps them).
    """
    result_type = data["resultType"]
    if result_type not in _METRIC_TYPES:
        raise ValueError(f"unknown resultType {result_type!r}")
    return QueryData(result_type, series=parse_series(result_type, data["result"]), warnings=warnings or [])


def parse_series(result_type: str, result: Any) -> list[Series]:
    """Series from a matrix, vector or scalar result."""
    if result_type == "matrix":
        return [_matrix_series(item) for item in result]
    if result_type == "vector":
        return [Series(dict(item.get("metric") or {}), *_samples([item["value"]])) for item in result]
    if result_type == "scalar":
        return [Series({}, *_samples([result]))]
    return []


def format_seconds(value: float) -> str:
    """Unix seconds or a step as the API expects them: "1700000000" or "1700000000.5"."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number of seconds: {value}")
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _matrix_series(item: dict[str, Any]) -> Series:
    # Native-histogram-only series carry "histograms" instead of "values": they have no floats.
    return Series(dict(item.get("metric") or {}), *_samples(item.get("values") or ()))


def _samples(pairs: Sequence[Sequence[Any]]) -> tuple[list[float], list[float]]:
    timestamps: list[float] = []
    values: list[float] = []
    for ts, value in pairs:
        timestamps.append(float(ts))
        values.append(float(value))
    return timestamps, values


def _range_params(match: Sequence[str], start: float | None, end: float | None) -> Params:
    params: dict[str, str | Sequence[str]] = {}
    if match:
        params["match[]"] = list(match)
    if start is not None:
        params["start"] = format_seconds(start)
    if end is not None:
        params["end"] = format_seconds(end)
    return params


def _cut(listing: Listing[T], limit: int | None) -> Listing[T]:
    if limit is None or len(listing.items) <= limit:
        return listing
    return Listing(listing.items[:limit], listing.total, listing.warnings)


def _alert(raw: dict[str, Any]) -> Alert:
    return Alert(
        labels=dict(raw.get("labels") or {}),
        annotations=dict(raw.get("annotations") or {}),
        state=str(raw.get("state", "")),
        active_at=raw.get("activeAt"),
        value=float(raw.get("value", "NaN")),
    )


def _group(raw: dict[str, Any]) -> RuleGroup:
    rules = [
        Rule(
            name=r["name"],
            type=r.get("type", ""),
            query=r.get("query", ""),
            health=r.get("health", ""),
            labels=dict(r.get("labels") or {}),
            annotations=dict(r.get("annotations") or {}),
            state=r.get("state"),
            duration=float(r.get("duration", 0)),
            last_error=r.get("lastError") or None,
            alerts=[_alert(a) for a in r.get("alerts") or ()],
        )
        for r in raw.get("rules") or ()
    ]
    return RuleGroup(raw["name"], raw.get("file", ""), float(raw.get("interval", 0)), rules)
