"""PrometheusClient against Prometheus 2.42-shaped answers on a MockTransport."""

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.datasources.errors import DatasourceUnavailable, InvalidResponse, QueryRejected
from aiops_mcp.datasources.models import Series
from aiops_mcp.datasources.prometheus import Listing, MetricMetadata, PrometheusClient, format_seconds

pytestmark = pytest.mark.anyio

UP = {"__name__": "up", "instance": "localhost:9090", "job": "prometheus"}


def client_answering(
    body: Any, status: int = 200, **config: Any
) -> tuple[PrometheusClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    settings = {"name": "prom", "type": "prometheus", "url": "http://127.0.0.1:9090"} | config
    client = PrometheusClient(DatasourceConfig(**settings), transport=httpx.MockTransport(handler))
    client.backoff_base = 0.01
    return client, seen


def success(data: Any, **extra: Any) -> dict[str, Any]:
    return {"status": "success", "data": data, **extra}


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


async def test_query_range_parses_a_matrix_with_special_values() -> None:
    body = success(
        {
            "resultType": "matrix",
            "result": [
                {"metric": UP, "values": [[1700000000, "1"], [1700000015, "0"], [1700000030.5, "1"]]},
                {
                    "metric": {"__name__": "ratio", "job": "api"},
                    "values": [[1700000000, "NaN"], [1700000015, "+Inf"], [1700000030.5, "-Inf"]],
                },
            ],
        }
    )
    client, seen = client_answering(body)
    data = await client.query_range("up", 1700000000, 1700000030.5, 15)
    assert data.result_type == "matrix"
    assert data.series[0] == Series(UP, [1700000000.0, 1700000015.0, 1700000030.5], [1.0, 0.0, 1.0])
    nan, inf, minus_inf = data.series[1].values
    assert math.isnan(nan) and inf == math.inf and minus_inf == -math.inf
    request = seen[0]
    assert (request.method, request.url.path) == ("POST", "/api/v1/query_range")
    assert form(request) == {
        "query": ["up"],
        "start": ["1700000000"],
        "end": ["1700000030.5"],
        "step": ["15"],
    }


async def test_query_parses_a_vector_as_one_point_series() -> None:
    body = success(
        {
            "resultType": "vector",
            "result": [
                {"metric": UP, "value": [1700000000.123, "1"]},
                {"metric": {}, "value": [1700000000.123, "3.5e-05"]},
            ],
        }
    )
    client, seen = client_answering(body)
    data = await client.query("up", 1700000000.123)
    assert data.result_type == "vector"
    assert data.series == [Series(UP, [1700000000.123], [1.0]), Series({}, [1700000000.123], [3.5e-05])]
    assert form(seen[0]) == {"query": ["up"], "time": ["1700000000.123"]}


async def test_query_parses_a_scalar_as_one_point_series_without_labels() -> None:
    client, _ = client_answering(success({"resultType": "scalar", "result": [1700000000, "42"]}))
    data = await client.query("scalar(vector(42))", 1700000000)
    assert (data.result_type, data.series) == ("scalar", [Series({}, [1700000000.0], [42.0])])


async def test_query_string_result_has_no_series() -> None:
    client, _ = client_answering(success({"resultType": "string", "result": [1700000000, "hello"]}))
    data = await client.query('"hello"', 1700000000)
    assert (data.result_type, data.series) == ("string", [])


async def test_empty_result_is_empty_not_an_error() -> None:
    client, _ = client_answering(success({"resultType": "matrix", "result": []}))
    data = await client.query_range('up{job="nope"}', 1700000000, 1700003600, 60)
    assert data.series == []


async def test_warnings_are_kept() -> None:
    body = success(
        {"resultType": "vector", "result": []},
        warnings=['PromQL info: metric might not be a counter, name does not end in _total: "foo"'],
    )
    client, _ = client_answering(body)
    data = await client.query("rate(foo[5m])", 1700000000)
    assert data.warnings == ['PromQL info: metric might not be a counter, name does not end in _total: "foo"']


@pytest.mark.parametrize(
    ("status", "error_type", "message"),
    [
        (400, "bad_data", "invalid parameter \"query\": 1:5: parse error: unexpected right parenthesis ')'"),
        (
            400,
            "bad_data",
            "exceeded maximum resolution of 11,000 points per timeseries. "
            "Try decreasing the query resolution (?step=XX)",
        ),
        (422, "execution", "query processing would load too many samples into memory in query execution"),
    ],
)
async def test_error_json_raises_query_rejected_with_prometheus_message(
    status: int, error_type: str, message: str
) -> None:
    client, seen = client_answering({"status": "error", "errorType": error_type, "error": message}, status)
    with pytest.raises(QueryRejected) as caught:
        await client.query("up)", 1700000000)
    assert caught.value.status == status
    assert caught.value.message == f"{error_type}: {message}"
    assert len(seen) == 1


async def test_server_side_timeout_is_retried_then_unavailable() -> None:
    body = {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}
    client, seen = client_answering(body, 503, max_retries=1)
    with pytest.raises(DatasourceUnavailable, match="query timed out in expression evaluation"):
        await client.query_range("sum(rate(x[5m]))", 1700000000, 1700086400, 60)
    assert len(seen) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"status": "success", "data": {"resultType": "matrix", "result": "oops"}},
        {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1]}]}},
        {"status": "success", "data": {"resultType": "histogram", "result": []}},
        {"status": "success"},
        {"status": "error"},
        ["not", "an", "object"],
    ],
)
async def test_wrong_shape_raises_invalid_response(body: Any) -> None:
    client, _ = client_answering(body)
    with pytest.raises(InvalidResponse):
        await client.query("up", 1700000000)


async def test_series_are_cut_client_side_and_report_the_total() -> None:
    series = [{"__name__": "up", "job": f"job-{i}", "instance": "localhost:9090"} for i in range(5)]
    client, seen = client_answering(success(series))
    listing = await client.series(["up"], 1700000000, 1700003600, limit=2)
    assert listing == Listing(series[:2], 5)
    assert listing.truncated
    request = seen[0]
    assert request.url.path == "/api/v1/series"
    # Prometheus 2.42 has no limit parameter: none is sent, the full list is counted.
    assert parse_qs(request.url.query.decode()) == {
        "match[]": ["up"],
        "start": ["1700000000"],
        "end": ["1700003600"],
    }


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda c: c.labels(["up"], limit=10), "/api/v1/labels"),
        (lambda c: c.label_values("job", limit=10), "/api/v1/label/job/values"),
        (lambda c: c.metric_names(limit=10), "/api/v1/label/__name__/values"),
    ],
)
async def test_label_listings_within_limit_are_complete(
    call: Callable[[PrometheusClient], Any], path: str
) -> None:
    client, seen = client_answering(success(["instance", "job"], warnings=["partial"]))
    listing = await call(client)
    assert listing == Listing(["instance", "job"], 2, ["partial"])
    assert not listing.truncated
    assert seen[0].url.path == path


async def test_missing_data_is_an_empty_listing() -> None:
    client, _ = client_answering(success(None))
    assert await client.labels() == Listing([], 0)


async def test_metadata_fetches_one_more_to_detect_truncation() -> None:
    body = success(
        {
            "up": [{"type": "gauge", "help": "Whether the target is up.", "unit": ""}],
            "http_requests_total": [{"type": "counter", "help": "Requests.", "unit": ""}],
            "go_goroutines": [{"type": "gauge", "help": "Goroutines.", "unit": ""}],
        }
    )
    client, seen = client_answering(body)
    listing = await client.metadata(limit=2)
    assert listing.items == [
        MetricMetadata("go_goroutines", "gauge", "Goroutines.", ""),
        MetricMetadata("http_requests_total", "counter", "Requests.", ""),
    ]
    assert listing.total is None and listing.truncated
    assert parse_qs(seen[0].url.query.decode()) == {"limit": ["3"]}


async def test_alerts_and_rules_parse() -> None:
    alert = {
        "labels": {"alertname": "HighErrorRate", "severity": "page"},
        "annotations": {"summary": "High error rate on api"},
        "state": "firing",
        "activeAt": "2023-11-14T22:13:20.123456789Z",
        "value": "1.5e-01",
    }
    rules = success(
        {
            "groups": [
                {
                    "name": "api",
                    "file": "/etc/prometheus/rules/api.yml",
                    "interval": 15,
                    "limit": 0,
                    "evaluationTime": 0.000412,
                    "lastEvaluation": "2023-11-14T22:20:00.000Z",
                    "rules": [
                        {
                            "state": "firing",
                            "name": "HighErrorRate",
                            "query": "job:errors:ratio5m > 0.1",
                            "duration": 300,
                            "labels": {"severity": "page"},
                            "annotations": {"summary": "High error rate on api"},
                            "alerts": [alert],
                            "health": "ok",
                            "evaluationTime": 0.0002,
                            "lastEvaluation": "2023-11-14T22:20:00.000Z",
                            "type": "alerting",
                        },
                        {
                            "name": "job:errors:ratio5m",
                            "query": "sum by (job) (rate(errors_total[5m]))",
                            "health": "err",
                            "lastError": "many-to-many matching not allowed",
                            "evaluationTime": 0.0001,
                            "lastEvaluation": "2023-11-14T22:20:00.000Z",
                            "type": "recording",
                        },
                    ],
                }
            ]
        }
    )
    client, _ = client_answering(rules)
    [group] = await client.rules()
    assert (group.name, group.interval, len(group.rules)) == ("api", 15.0, 2)
    alerting, recording = group.rules
    assert (alerting.type, alerting.state, alerting.duration) == ("alerting", "firing", 300.0)
    assert alerting.alerts[0].value == 0.15
    assert (recording.type, recording.health, recording.last_error) == (
        "recording",
        "err",
        "many-to-many matching not allowed",
    )

    client, _ = client_answering(success({"alerts": [alert]}))
    [active] = await client.alerts()
    assert (active.labels["alertname"], active.state, active.active_at) == (
        "HighErrorRate",
        "firing",
        "2023-11-14T22:13:20.123456789Z",
    )


async def test_buildinfo() -> None:
    info = {
        "version": "2.42.0",
        "revision": "225c61122d88b01d1f0eaaee0e05b6f3e0567ac0",
        "branch": "debian/sid",
        "buildUser": "team+pkg-go@tracker.debian.org",
        "buildDate": "20230309-10:32:04",
        "goVersion": "go1.19.8",
    }
    client, seen = client_answering(success(info))
    assert await client.buildinfo() == info
    assert seen[0].url.path == "/api/v1/status/buildinfo"


async def test_url_path_prefix_is_kept() -> None:
    client, seen = client_answering(
        success({"resultType": "vector", "result": []}), url="http://127.0.0.1:9090/prom/"
    )
    await client.query("up", 1700000000)
    assert seen[0].url.path == "/prom/api/v1/query"


async def test_identical_queries_hit_the_cache() -> None:
    client, seen = client_answering(success({"resultType": "vector", "result": []}))
    await client.query("sum(up)", 1700000000)
    await client.query("  sum(up)\n", 1700000000.0)
    assert len(seen) == 1


def test_format_seconds() -> None:
    assert format_seconds(1700000000.0) == "1700000000"
    assert format_seconds(1700000000.25) == "1700000000.25"
    assert format_seconds(15) == "15"
    with pytest.raises(ValueError):
        format_seconds(math.nan)
