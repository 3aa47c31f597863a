"""Contract test: every recorded Loki 3.4 answer in fixtures/loki, replayed through LokiClient.

For each recording the client method matching the recorded request is called; a mock transport
checks that the client sends what Loki was sent (path, parameters, headers) and answers with the
recorded status, content type and body. Success answers must parse to what the body holds (and to
the figures the fixture README states); error answers must raise the typed error carrying Loki's
own message. A new recording is covered automatically; one for an endpoint the client does not
know fails until it is mapped below.
"""

import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.datasources.errors import QueryRejected
from aiops_mcp.datasources.http import Readiness
from aiops_mcp.datasources.loki import API, DetectedField, IndexStats, LokiClient, to_ns
from aiops_mcp.datasources.models import QueryData, Series

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent.parent / "fixtures" / "loki" / "responses"
RECORDINGS = sorted(FIXTURES.glob("*.json"))
WINDOW_START = 1795474800.0

# Write endpoints: a read-only client never sends these requests.
NOT_APPLICABLE = {
    "push_ok",
    "push_empty_labels_accepted",
    "error_push_bad_timestamp",
    "error_push_invalid_json",
    "flush_ingester",
}
# Recorded requests the typed client cannot send verbatim; their answers are still replayed.
UNSENDABLE = {
    "error_invalid_time": "start=yesterday: the client sends numeric times only",
    "error_missing_query": "no query parameter: the client always sends one",
    "error_method_not_allowed": "PUT: the client only reads (the 405 is replayed for its GET)",
}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_recordings_are_all_here() -> None:
    assert len(RECORDINGS) >= 95
    write_paths = {p.stem for p in RECORDINGS if load(p)["request"]["path"] in {f"{API}/push", "/flush"}}
    assert write_paths == NOT_APPLICABLE
    assert not hasattr(LokiClient, "push")


def test_named_recordings_exist() -> None:
    names = {p.stem for p in RECORDINGS}
    assert set(FACTS) <= names
    assert set(UNSENDABLE) <= names


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
async def test_recorded_answer_parses(path: Path) -> None:
    record = load(path)
    request, response = record["request"], record["response"]
    if path.stem in NOT_APPLICABLE:
        assert request["method"] == "POST"
        return
    sent: list[httpx.Request] = []
    async with client_for(record, sent) as client:
        if response["status"] >= 400 and request["path"] != "/ready":
            with pytest.raises(QueryRejected) as caught:
                await call(client, request)
            assert_rejected(caught.value, response)
        else:
            result = await call(client, request)
            check_against_body(request, response, result)
            if path.stem in FACTS:
                extract, expected = FACTS[path.stem]
                assert extract(result) == expected
    assert len(sent) == 1
    if path.stem not in UNSENDABLE:
        assert_same_request(sent[0], request)


# -- the replay ------------------------------------------------------------------------------


def client_for(record: dict[str, Any], sent: list[httpx.Request]) -> LokiClient:
    response = record["response"]
    body = response["body"]
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    headers = {"content-type": response["content_type"]} if response["content_type"] else {}

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(response["status"], headers=headers, content=content)

    tenant = (record["request"].get("headers") or {}).get("X-Scope-OrgID")
    config = DatasourceConfig(name="loki", type="loki", url="http://127.0.0.1:3100", tenant=tenant)
    return LokiClient(config, transport=httpx.MockTransport(answer))


def recorded_params(request: dict[str, Any]) -> dict[str, list[str]]:
    params = {k: v if isinstance(v, list) else [v] for k, v in request["params"].items()}
    if "form-urlencoded" in (request.get("headers") or {}).get("Content-Type", ""):
        params.update(parse_qs(request["body"]))
    return params


async def call(client: LokiClient, request: dict[str, Any]) -> Any:
    """Call the client method that sends the recorded request."""
    p = {k: v[0] for k, v in recorded_params(request).items() if k != "match[]"}
    path = request["path"].removeprefix(API)
    start, end = seconds(p.get("start")), seconds(p.get("end"))
    limit = int(p["limit"]) if "limit" in p else None
    line_limit = int(p["line_limit"]) if "line_limit" in p else None
    step = step_seconds(p["step"]) if "step" in p else None
    if request["path"] == "/ready":
        return await client.ready()
    if path == "/query_range":
        categorize = "X-Loki-Response-Encoding-Flags" in (request.get("headers") or {})
        direction = p.get("direction", "backward")
        return await client.query_range(
            p.get("query", ""), start, end, step, limit, direction, categorize_labels=categorize
        )
    if path == "/query":
        return await client.query(p["query"], seconds(p["time"]), limit, p.get("direction"))
    if path == "/labels":
        return await client.labels(start, end, p.get("query"))
    if m := re.fullmatch(r"/label/([^/]+)/values", path):
        return await client.label_values(m[1], start, end, p.get("query"))
    if path == "/series":
        return await client.series(recorded_params(request).get("match[]", []), start, end)
    if path == "/index/stats":
        return await client.index_stats(p["query"], start, end)
    if path in ("/index/volume", "/index/volume_range"):
        targets = p["targetLabels"].split(",") if "targetLabels" in p else None
        if path == "/index/volume":
            return await client.index_volume(p["query"], start, end, limit, targets, p.get("aggregateBy"))
        return await client.index_volume_range(
            p["query"], start, end, step, limit, targets, p.get("aggregateBy")
        )
    if path == "/patterns":
        return await client.patterns(p["query"], start, end, step)
    if path == "/detected_fields":
        return await client.detected_fields(p["query"], start, end, line_limit, limit)
    if m := re.fullmatch(r"/detected_field/([^/]+)/values", path):
        return await client.detected_field_values(m[1], p["query"], start, end, line_limit, limit)
    if path == "/detected_labels":
        return await client.detected_labels(p["query"], start, end)
    if path == "/format_query":
        return await client.format_query(p["query"])
    if path == "/status/buildinfo":
        return await client.buildinfo()
    if path == "/does_not_exist":
        return await client.get_json(request["path"])
    raise AssertionError(f"no client method for {request['method']} {request['path']}: map it in call()")


def seconds(value: str | None) -> float:
    """A recorded time (ns, RFC3339) in unix seconds; the window start when it is not a time."""
    if value is None:
        return WINDOW_START
    if value.lstrip("-").isdigit():
        return int(value) / 1e9
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return WINDOW_START


def step_seconds(value: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if m := re.fullmatch(r"(\d+)([smhd])", value):
        return float(int(m[1]) * units[m[2]])
    return float(value)


def normalised(params: dict[str, list[str]], path: str) -> dict[str, list[Any]]:
    """Parameters compared by meaning: times in ns, steps in seconds, Loki's default direction."""
    out: dict[str, list[Any]] = {}
    for key, values in params.items():
        if key in ("start", "end", "time"):
            out[key] = [round(seconds(v) * 1e6) for v in values]
        elif key == "step":
            out[key] = [step_seconds(v) for v in values]
        else:
            out[key] = values
    if path.endswith("/query_range"):
        out.setdefault("direction", ["backward"])
    return out


def assert_same_request(sent: httpx.Request, request: dict[str, Any]) -> None:
    assert sent.url.path == request["path"]
    got = {k: v for k, v in parse_qs(sent.url.query.decode(), keep_blank_values=True).items()}
    assert normalised(got, request["path"]) == normalised(recorded_params(request), request["path"])
    for name, value in (request.get("headers") or {}).items():
        if name != "Content-Type":
            assert sent.headers.get(name) == value


def assert_rejected(error: QueryRejected, response: dict[str, Any]) -> None:
    assert error.status == response["status"]
    text = response["body"].strip()
    assert text in error.message if text else str(response["status"]) in error.message


# -- what a success answer must parse to -------------------------------------------------------


def check_against_body(request: dict[str, Any], response: dict[str, Any], result: Any) -> None:
    body, path = response["body"], request["path"].removeprefix(API)
    if request["path"] == "/ready":
        assert result == Readiness(response["status"] == 200, body.strip())
    elif path in ("/query_range", "/query", "/index/volume", "/index/volume_range"):
        direction = recorded_params(request).get("direction", ["backward"])[0]
        check_query_data(result, body["data"], direction)
    elif path in ("/labels", "/series") or path.startswith("/label/"):
        assert result == body.get("data", [])
    elif path == "/index/stats":
        assert result == IndexStats(**body)
    elif path == "/patterns":
        assert [(r.pattern, r.timestamps, r.counts) for r in result] == [
            (p["pattern"], [float(t) for t, _ in p["samples"]], [c for _, c in p["samples"]])
            for p in body["data"]
        ]
    elif path == "/detected_fields":
        assert result == [
            DetectedField(f["label"], f["type"], f["cardinality"], tuple(f["parsers"] or ()))
            for f in body["fields"]
        ]
    elif path.startswith("/detected_field/"):
        assert result == body["values"]
    elif path == "/detected_labels":
        assert [(d.label, d.cardinality) for d in result] == [
            (d["label"], d["cardinality"]) for d in body["detectedLabels"]
        ]
    elif path == "/format_query":
        assert result == body["data"]
    elif path == "/status/buildinfo":
        assert result == body
    else:
        raise AssertionError(f"no expectation for {path}")


def check_query_data(result: QueryData, data: dict[str, Any], direction: str) -> None:
    assert result.result_type == data["resultType"]
    if data["resultType"] == "streams":
        expected = sorted(
            (int(v[0]), v[1], sorted(entry_labels(s["stream"], v).items()))
            for s in data["result"]
            for v in s["values"]
        )
        assert sorted((e.timestamp_ns, e.line, sorted(e.labels.items())) for e in result.entries) == expected
        times = [e.timestamp_ns for e in result.entries]
        assert times == sorted(times, reverse=direction == "backward")
        assert all(isinstance(t, int) for t in times)
    elif data["resultType"] == "matrix":
        assert result.series == [
            Series(s["metric"], [float(t) for t, _ in s["values"]], [float(v) for _, v in s["values"]])
            for s in data["result"]
        ]
    elif data["resultType"] == "vector":
        assert result.series == [
            Series(s["metric"], [float(s["value"][0])], [float(s["value"][1])]) for s in data["result"]
        ]
    else:
        ts, value = data["result"]
        assert result.series == [Series({}, [float(ts)], [float(value)])]


def entry_labels(stream: dict[str, str], value: list[Any]) -> dict[str, str]:
    """The labels the default encoding would give: stream, structured metadata, parsed fields."""
    extra = value[2] if len(value) > 2 else {}
    return {**stream, **extra.get("structuredMetadata", {}), **extra.get("parsed", {})}


# -- figures stated in the fixture README --------------------------------------------------------


def n_entries(result: QueryData) -> int:
    return len(result.entries)


def n_series(result: QueryData) -> int:
    return len(result.series)


def value_of(result: QueryData, **labels: str) -> float:
    [series] = [s for s in result.series if labels.items() <= s.labels.items()]
    return series.values[-1]


def points_of(result: QueryData, **labels: str) -> int:
    [series] = [s for s in result.series if labels.items() <= s.labels.items()]
    return len(series.timestamps)


def cardinalities(fields: list[DetectedField]) -> dict[str, int]:
    return {f.label: f.cardinality for f in fields if f.label in ("latency_ms", "trace_id")}


def unchanged(result: Any) -> Any:
    return result


READY = Readiness(True, "ready")
FACTS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "query_range_line_filter_timeout": (
        lambda r: (n_entries(r), len({tuple(sorted(e.labels.items())) for e in r.entries})),
        (30, 16),
    ),
    "query_range_default_limit_100": (n_entries, 100),
    "query_range_limit_exact_all": (n_entries, 30),
    "query_range_limit_truncated": (n_entries, 10),
    "query_range_regex_filter": (n_entries, 30),
    "query_range_logfmt_duration_gt_1s": (n_entries, 35),
    "query_range_logs_backward_limit20": (n_entries, 20),
    "query_range_logs_forward_rfc3339": (n_entries, 20),
    "query_range_empty_result": (n_entries, 0),
    "query_range_unknown_stream": (n_entries, 0),
    "query_range_before_ready": (n_entries, 0),
    "push_old_entry_read_before_flush": (n_entries, 0),
    "push_empty_labels_read_after_flush": (
        lambda r: r.entries[0].labels,
        {"service_name": "unknown_service", "detected_level": "unknown"},
    ),
    "query_range_categorize_labels": (
        lambda r: [sorted(set(e.labels) - {"app", "env", "level", "service_name"}) for e in r.entries],
        [
            ["detected_level", "duration", "level_extracted", "msg", "sku", "trace_id"],
            ["detected_level"],
            ["detected_level", "duration", "level_extracted", "msg", "sku", "trace_id"],
        ],
    ),
    "query_range_json_parse_error": (lambda r: any("__error__" in e.labels for e in r.entries), True),
    "instant_count_over_time_24h": (n_series, 15),
    "instant_sum_by_app_level_6h": (lambda r: value_of(r, app="shop-frontend", level="info"), 209.0),
    "instant_scalar": (
        lambda r: (r.result_type, r.series[0].labels, r.series[0].values),
        ("scalar", {}, [2.0]),
    ),
    "instant_vector_literal": (lambda r: (r.series[0].labels, r.series[0].timestamps), ({}, [1795496400.0])),
    "metric_scalar_range": (
        lambda r: (r.result_type, [s.labels for s in r.series], r.series[0].values),
        ("matrix", [{}], [2.0, 2.0, 2.0]),
    ),
    "metric_default_step": (lambda r: r.series[0].timestamps[-1], 1795496476.0),
    "metric_count_by_level_step5m": (lambda r: points_of(r, level="error"), 30),
    "metric_range_0s_empty": (lambda r: (r.result_type, r.series), ("matrix", [])),
    "metric_topk_bytes_over_time": (n_series, 2),
    "metric_rate_inventory_error_1m": (
        lambda r: [math.isclose(v, 1 / 60) for v in r.series[0].values],
        [True] * 3,
    ),
    "index_stats": (unchanged, IndexStats(streams=23, chunks=23, bytes=15871, entries=263)),
    "index_stats_all": (unchanged, IndexStats(streams=36, chunks=36, bytes=28022, entries=534)),
    "index_volume": (lambda r: r.series[0].values, [40960.0]),
    # The README says these sum to 40960; the recorded values (5120, 7166 x4, 7168) sum to 40952.
    "index_volume_range": (
        lambda r: (r.series[0].timestamps[0], r.series[0].values),
        (1795478399.999, [5120.0, 7166.0, 7166.0, 7166.0, 7166.0, 7168.0]),
    ),
    "index_volume_target_labels": (
        lambda r: {s.labels["level"]: s.values[0] for s in r.series},
        {"info": 33792.0, "warn": 5120.0, "error": 2048.0},
    ),
    "index_volume_aggregate_labels": (
        lambda r: {(k, v, s.values[0]) for s in r.series for k, v in s.labels.items()},
        {("app", "", 40960.0), ("env", "", 40960.0), ("level", "", 40960.0), ("service_name", "", 40960.0)},
    ),
    "labels": (unchanged, ["app", "env", "level", "service_name"]),
    "labels_tenant_header": (unchanged, ["app", "env", "level", "service_name"]),
    "label_level_values": (unchanged, ["error", "info", "warn"]),
    "label_unknown_values": (unchanged, []),
    "labels_before_ready": (unchanged, []),
    "series_without_match": (len, 6),
    "patterns_inventory": (len, 2),
    "patterns_env_prod": (len, 2),
    "patterns_shop_frontend_json": (len, 0),
    "detected_field_values_latency_default": (len, 95),
    "detected_field_values_latency_line_limit_1000": (len, 271),
    "detected_fields": (cardinalities, {"latency_ms": 95, "trace_id": 4}),
    "detected_fields_line_limit_1000": (cardinalities, {"latency_ms": 271, "trace_id": 12}),
    "buildinfo": (lambda r: set(r.values()), {""}),
    "ready": (unchanged, READY),
    "ready_startup_4": (unchanged, READY),
    "ready_startup_2": (unchanged, Readiness(False, "Ingester not ready: waiting for 15s after being ready")),
    "ready_startup_3": (lambda r: r.ready, False),
    "ready_startup_1": (
        lambda r: (r.ready, r.message.splitlines()[0]),
        (False, "Some services are not Running:"),
    ),
}


def test_times_travel_as_nanoseconds() -> None:
    assert to_ns(1795474800.0) == 1795474800000000000
    assert to_ns(1795478399.999) == 1795478399999000000
