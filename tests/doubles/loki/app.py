"""The ASGI application: Loki's read API over a `Store`, its push API, fault injection and a request log.

The write side (`POST /loki/api/v1/push` with a JSON body, `POST /flush`) answers as the recorded
Loki did (`push_ok`, `flush_ingester`: 204, empty body, no Content-Type; `error_push_*`: 400
text/plain ending with a newline); decode error texts are the double's own, with Loki's prefix.
Pushed lines are visible at once (a real Loki shows lines older than 3 h only after a flush).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from aiops_mcp.query.logql import (
    Expr,
    LogExpr,
    LogQLSyntaxError,
    StreamSelector,
    VectorAggregation,
    parse_logql,
)
from tests.doubles.loki.dataset import NS, Entry, LabelKey, LogRecord
from tests.doubles.loki.errors import ERRORS, BadRequest, Unsupported
from tests.doubles.loki.metrics import SPLIT_INTERVAL_NS, MetricEvaluator
from tests.doubles.loki.params import MAX_LIMIT, Params, selector_only
from tests.doubles.loki.pipeline import selects
from tests.doubles.loki.responses import (
    BUILD_INFO,
    JSON_TYPE,
    TEXT_TYPE,
    format_value,
    json_response,
    names_body,
    query_body,
    scalar_timestamp,
    seconds,
    stats_block,
    streams_result,
)
from tests.doubles.loki.store import Store, log_query


@dataclass(frozen=True)
class RecordedRequest:
    """What the double was asked: method, path, parameters (query string and form) and headers."""

    method: str
    path: str
    params: list[tuple[str, str]]
    headers: dict[str, str]


@dataclass
class Fault:
    """A canned answer for one request: `status` and a text `body`, or (`garbage`) the real body cut short."""

    status: int
    body: str
    garbage: bool = False


class LokiApp:
    """The ASGI application: Loki's read API over a `Store`, plus fault injection."""

    def __init__(self, store: Store, now_ns: Callable[[], int]) -> None:
        self.store = store
        self.now_ns = now_ns
        self.faults: list[Fault] = []
        self.delay_seconds = 0.0
        self.requests: list[RecordedRequest] = []
        self.lock = threading.Lock()
        self.routes: dict[str, tuple[tuple[str, ...], Callable[[Params, Request], Response]]] = {
            "/ready": (("GET",), lambda p, r: Response("ready\n", media_type=TEXT_TYPE)),
            "/loki/api/v1/status/buildinfo": (
                ("GET",),
                lambda p, r: json_response(BUILD_INFO, "application/json"),
            ),
            "/loki/api/v1/query_range": (("GET", "POST"), self.query_range),
            "/loki/api/v1/query": (("GET", "POST"), self.query),
            "/loki/api/v1/labels": (("GET", "POST"), self.labels),
            "/loki/api/v1/series": (("GET", "POST"), self.series),
            "/loki/api/v1/index/stats": (("GET", "POST"), self.index_stats),
            "/loki/api/v1/index/volume": (("GET", "POST"), self.index_volume),
            "/loki/api/v1/push": (("POST",), self.push),
            "/flush": (("POST",), lambda p, r: Response(status_code=204)),
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        request.state.body = await request.body()  # for the push handler (handlers are synchronous)
        params = await self.params(request)
        self.record(request, params)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        response = self.respond(request, params)
        await response(scope, receive, send)

    async def params(self, request: Request) -> Params:
        pairs = list(request.query_params.multi_items())
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            pairs += parse_qsl(request.state.body.decode(), keep_blank_values=True)
        return Params(pairs, self.now_ns())

    def record(self, request: Request, params: Params) -> None:
        with self.lock:
            self.requests.append(
                RecordedRequest(request.method, request.url.path, params.pairs, dict(request.headers))
            )

    def respond(self, request: Request, params: Params) -> Response:
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault and not fault.garbage:
            return Response(fault.body, status_code=fault.status, media_type=TEXT_TYPE)
        response = self.dispatch(request, params)
        if fault:
            return Response(bytes(response.body)[: max(1, len(response.body) // 2)], media_type=JSON_TYPE)
        return response

    def dispatch(self, request: Request, params: Params) -> Response:
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

    def query_range(self, params: Params, request: Request) -> Response:
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
            rows = log_query(self.store, query.expr, start, end, limit, forward)
            stats = stats_block(len(rows), len(rows), sum(len(r.line.encode()) for r in rows))
            flags = ["categorize-labels"] if categorize else None
            return json_response(query_body("streams", streams_result(rows, categorize), stats, flags))
        times = list(range(start - start % step, end + (-end % step) + 1, step))
        if step >= SPLIT_INTERVAL_NS:
            # Loki splits such queries by step and never evaluates the first aligned step
            # (metric_topk_bytes_over_time.json, index_volume_range.json).
            times = times[1:] or times
        return json_response(query_body("matrix", self.matrix(query.expr, times), stats_block()))

    def matrix(self, expr: Expr, times: list[int]) -> list[dict[str, Any]]:
        evaluator = MetricEvaluator(self.store, expr, times)
        series: dict[LabelKey, list[list[Any]]] = {}
        for t in times:
            value = evaluator.at(expr, t)
            vector = value if isinstance(value, dict) else {(): value}
            for labels, v in vector.items():
                series.setdefault(labels, []).append([seconds(t), format_value(v)])
        return [{"metric": dict(k), "values": v} for k, v in sorted(series.items())]

    def query(self, params: Params, request: Request) -> Response:
        t = params.time("time", params.now_ns)
        params.limit()
        params.forward()
        query = params.query()
        if isinstance(query.expr, LogExpr):
            raise BadRequest(ERRORS["instant_log"])
        value = MetricEvaluator(self.store, query.expr, [t], instant=True).at(query.expr, t)
        if not isinstance(value, dict):
            return json_response(
                query_body("scalar", [scalar_timestamp(t), format_value(value)], stats_block())
            )
        items = list(value.items())
        root = query.expr
        if not (isinstance(root, VectorAggregation) and root.op in ("sort", "sort_desc")):
            items.sort()
        result = [{"metric": dict(k), "value": [seconds(t), format_value(v)]} for k, v in items]
        return json_response(query_body("vector", result, stats_block()))

    # -- push -----------------------------------------------------------------------------------

    def push(self, params: Params, request: Request) -> Response:
        """Store pushed streams: `{"streams": [{"stream": {...}, "values": [[ns, line, meta?]]}]}`."""
        try:
            records = list(_pushed_records(json.loads(request.state.body)))
        except (ValueError, TypeError, KeyError) as exc:
            text = f"loghttp.PushRequest.Streams: []loghttp.LogProtoStream: {exc}\n"
            return Response(text, status_code=400, media_type=TEXT_TYPE)
        self.store.add(records)
        return Response(status_code=204)

    # -- labels, series, index --------------------------------------------------------------------

    def streams_in(self, params: Params, selectors: list[StreamSelector]) -> list[LabelKey]:
        start, end = params.bounds(6 * 3600 * NS)
        found = {e.stream for e in self.store.entries if start <= e.ts_ns <= end}
        if selectors:
            found = {s for s in found if any(selects(sel, dict(s)) for sel in selectors)}
        return sorted(found)

    def optional_selector(self, params: Params) -> list[StreamSelector]:
        return list(params.query().selectors) if params.get("query") else []

    def labels(self, params: Params, request: Request) -> Response:
        streams = self.streams_in(params, self.optional_selector(params))
        return json_response(names_body(sorted({k for s in streams for k, _ in s})))

    def label_values(self, params: Params, name: str) -> Response:
        streams = self.streams_in(params, self.optional_selector(params))
        return json_response(names_body(sorted({v for s in streams for k, v in s if k == name})))

    def series(self, params: Params, request: Request) -> Response:
        selectors = []
        for text in params.getlist("match[]"):
            try:
                selectors.append(selector_only(parse_logql(text)))
            except LogQLSyntaxError as exc:
                raise BadRequest(exc.detail) from None
        streams = self.streams_in(params, selectors)
        return json_response(names_body([dict(s) for s in streams]))

    def matching_entries(self, params: Params) -> tuple[list[Entry], StreamSelector, int]:
        selector = selector_only(params.query())
        start, end = params.bounds(3600 * NS)
        return [e for e in self.store.select(selector, start, end, right_closed=False)], selector, end

    def index_stats(self, params: Params, request: Request) -> Response:
        entries, _, _ = self.matching_entries(params)
        streams = {e.stream for e in entries}
        size = sum(len(e.line.encode()) for e in entries)
        return json_response(
            {"streams": len(streams), "chunks": len(streams), "bytes": size, "entries": len(entries)}
        )

    def index_volume(self, params: Params, request: Request) -> Response:
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
        result = [{"metric": dict(k), "value": [seconds(end), str(v)]} for k, v in ranked]
        return json_response(query_body("vector", result, stats_block()))


def _pushed_records(body: Any) -> list[LogRecord]:
    """The records of a push body; ValueError (or TypeError, KeyError) when it is not one."""
    records = []
    for stream in body["streams"]:
        labels = stream["stream"]
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
            raise ValueError("stream labels must be strings")
        for value in stream["values"]:
            stamp, line, *rest = value
            if not (isinstance(stamp, str) and stamp.isdigit() and isinstance(line, str)) or len(rest) > 1:
                raise ValueError(f'a value must be ["<unix ns>", "<line>"(, metadata)], got {value!r}')
            metadata = rest[0] if rest else None
            if metadata is not None and not isinstance(metadata, dict):
                raise ValueError("structured metadata must be an object")
            records.append(LogRecord(int(stamp), dict(labels), line, metadata))
    return records
