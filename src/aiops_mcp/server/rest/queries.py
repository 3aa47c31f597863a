"""Queries over REST, bounded and grounded exactly like the tools' answers.

`POST /api/grafana/query/prometheus` and `/loki` take `QueryIn` and answer the tools' result
models (`MetricResult`, `LogResult`): exact query, datasource and window; ranked, capped series
with statistics over every sample; capped lines with counts by level.
`GET /api/grafana/metrics/{ref}` evaluates an application's default metrics over a range with
its metric labels; `GET /api/grafana/logs/{ref}` returns its recent log lines.
"""

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from aiops_mcp.datasources.errors import DatasourceError, DatasourceUnavailable
from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.logql import parse_logql
from aiops_mcp.query.logql.build import add_line_filter, stream_selector
from aiops_mcp.query.promql import selector
from aiops_mcp.runtime import Runtime
from aiops_mcp.server.rest.admin import find_profile
from aiops_mcp.server.rest.common import ApiError, Endpoint, Param, field_errors, json_answer, read_body
from aiops_mcp.tools.contract import Status
from aiops_mcp.tools.logs import log_metric_query, log_query
from aiops_mcp.tools.metrics import range_query
from aiops_mcp.tools.shaping import LogResult, MetricResult

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


class QueryIn(BaseModel):
    """A query over a time range (default: the last hour)."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=20_000, description="PromQL or LogQL.")
    time_range: str = Field(default="last 1h", description="'last 24h', 'yesterday', ... (UTC).")
    start: str | None = Field(default=None, description="RFC 3339, unix seconds, 'now-1h'.")
    end: str | None = None
    step: str | None = Field(default=None, description="Resolution like '1m'; automatic if omitted.")
    datasource: str | None = Field(default=None, description="Datasource name; the default if omitted.")
    limit: int | None = Field(default=None, ge=1, le=1000, description="Log lines (Loki log queries).")
    direction: Literal["backward", "forward"] = "backward"


class AppMetric(BaseModel):
    """One default metric of an application: what ran and its result, or why it failed."""

    metric: str
    query: str
    result: MetricResult | None = None
    error: str | None = None


class AppMetricsOut(BaseModel):
    """An application's default metrics over a range."""

    app: str
    status: Status
    metrics: list[AppMetric]


async def prometheus_range(rt: Runtime, body: QueryIn) -> MetricResult:
    """What the prometheus_query_range tool answers."""
    return await range_query(
        rt,
        body.query,
        time_range=body.time_range,
        start=body.start,
        end=body.end,
        step=body.step,
        datasource=body.datasource,
    )


def default_metric_query(item: str, labels: dict[str, str]) -> str:
    """A bare metric name scoped to ``labels`` (counters as rates, buckets as p95); PromQL as given."""
    if not METRIC_NAME.fullmatch(item):
        return item
    scoped = selector(item, labels)
    if item.endswith("_bucket"):
        return f"histogram_quantile(0.95, sum by (le) (rate({scoped}[5m])))"
    if item.endswith(("_total", "_count", "_sum")):
        return f"sum by (instance) (rate({scoped}[5m]))"
    return scoped


async def query_prometheus(request: Request, rt: Runtime) -> Response:
    return json_answer(await prometheus_range(rt, await read_body(request, QueryIn)))


async def query_loki(request: Request, rt: Runtime) -> Response:
    return json_answer(await loki_answer(rt, await read_body(request, QueryIn)))


async def loki_answer(rt: Runtime, body: QueryIn) -> LogResult | MetricResult:
    """What loki_query_logs or loki_query_metrics answers, by the kind of query."""
    if parse_logql(body.query).kind == "log":
        return await log_query(
            rt, body.query, time_range=body.time_range, start=body.start, end=body.end,
            limit=body.limit, direction=body.direction, datasource=body.datasource,
        )  # fmt: skip
    return await log_metric_query(
        rt, body.query, time_range=body.time_range, start=body.start, end=body.end,
        step=body.step, datasource=body.datasource,
    )  # fmt: skip


def _query_in(request: Request, **given: Any) -> QueryIn:
    """A `QueryIn` from ``given`` and the window in the query string; 422 naming bad parameters."""
    window = {k: v for k, v in request.query_params.items() if k in {"time_range", "start", "end", "step"}}
    try:
        return QueryIn.model_validate({**window, **given})
    except ValidationError as error:
        raise ApiError(422, "invalid query parameters", field_errors(error)) from None


async def app_metrics(request: Request, rt: Runtime) -> Response:
    profile = await find_profile(await rt.store(), request.path_params["ref"])
    labels = dict((profile.service_mappings or {}).get("metrics") or {})
    if not labels or not profile.default_metrics:
        raise ApiError(
            422,
            f"application {profile.name!r} has no metric labels or default metrics",
            {"service_mappings.metrics": "required", "default_metrics": "required"},
        )
    out = []
    for item in profile.default_metrics:
        query = default_metric_query(item, labels)
        body = _query_in(request, query=query, datasource=profile.prometheus_datasource)
        try:
            out.append(AppMetric(metric=item, query=query, result=await prometheus_range(rt, body)))
        except DatasourceUnavailable:
            raise
        except (QueryInputError, DatasourceError) as exc:
            out.append(AppMetric(metric=item, query=query, error=str(exc)))
    failed = sum(1 for m in out if m.error)
    status = (
        Status.PARTIAL
        if failed
        else Status.EMPTY
        if all(m.result and m.result.status == Status.EMPTY for m in out)
        else Status.OK
    )
    return json_answer(AppMetricsOut(app=profile.name, status=status, metrics=out))


async def app_logs(request: Request, rt: Runtime) -> Response:
    profile = await find_profile(await rt.store(), request.path_params["ref"])
    labels = dict((profile.service_mappings or {}).get("logs") or {})
    if not labels:
        raise ApiError(
            422, f"application {profile.name!r} has no log labels", {"service_mappings.logs": "required"}
        )
    query = stream_selector(labels)
    params = request.query_params
    if params.get("contains"):
        query = add_line_filter(query, params["contains"])
    limit = params.get("limit")
    if limit is not None and not limit.isdigit():
        raise ApiError(422, "invalid limit", {"limit": "a whole number from 1 to 1000"})
    body = _query_in(
        request, query=query, datasource=profile.loki_datasource, limit=int(limit) if limit else None
    )
    return json_answer(await loki_answer(rt, body))


WINDOW = (
    Param("time_range", "'last 1h' (default), 'yesterday', ..."),
    Param("start", "RFC 3339 or unix seconds"),
    Param("end", "RFC 3339 or unix seconds"),
)
ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/grafana/query/prometheus",
        query_prometheus,
        "PromQL over a range",
        QueryIn,
        MetricResult,
    ),
    Endpoint(
        "POST",
        "/api/grafana/query/loki",
        query_loki,
        "LogQL: log lines (LogResult) or a metric query (MetricResult)",
        QueryIn,
        LogResult,
    ),
    Endpoint(
        "GET",
        "/api/grafana/metrics/{ref}",
        app_metrics,
        "An application's default metrics over a range",
        None,
        AppMetricsOut,
        params=(*WINDOW, Param("step", "resolution like '1m'")),
    ),
    Endpoint(
        "GET",
        "/api/grafana/logs/{ref}",
        app_logs,
        "An application's recent log lines",
        None,
        LogResult,
        params=(*WINDOW, Param("limit", "lines, 1-1000", "integer"), Param("contains", "text to find")),
    ),
]
