"""What the double answers with, shaped like the recorded answers: JSON envelopes, the ``stats``
block, streams and samples, Go's float text, and the content types."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from tests.doubles.loki.dataset import NS, LabelKey, label_key
from tests.doubles.loki.pipeline import Row

JSON_TYPE = "application/json; charset=UTF-8"
TEXT_TYPE = "text/plain; charset=utf-8"
BUILD_INFO = {"version": "", "revision": "", "branch": "", "buildUser": "", "buildDate": "", "goVersion": ""}


def format_value(value: float) -> str:
    """A sample value as Go's strconv.FormatFloat(v, 'f', -1, 64) writes it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def seconds(ts_ns: int) -> int | float:
    return ts_ns // NS if ts_ns % NS == 0 else round(ts_ns / NS, 3)


def stats_block(returned: int = 0, lines: int = 0, size: int = 0) -> dict[str, Any]:
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


def streams_result(rows: list[Row], categorize: bool) -> list[dict[str, Any]]:
    """Group rows into result streams (by all labels, or by index labels when categorized)."""
    streams: dict[LabelKey, list[Any]] = {}
    for row in rows:
        key = row.entry.stream if categorize else label_key(row.labels)
        value: list[Any] = [str(row.entry.ts_ns), row.line]
        if categorize:
            value.append(_categories(row))
        streams.setdefault(key, []).append(value)
    return [{"stream": dict(key), "values": values} for key, values in sorted(streams.items())]


def _categories(row: Row) -> dict[str, dict[str, str]]:
    metadata = {k: v for k, v in row.labels.items() if k in dict(row.entry.metadata)}
    parsed = {k: v for k, v in row.labels.items() if k in row.parsed or k.startswith("__error")}
    out = {"structuredMetadata": metadata}
    if parsed:
        out["parsed"] = parsed
    return out


def query_body(result_type: str, result: Any, stats: dict[str, Any], flags: list[str] | None = None) -> Any:
    data: dict[str, Any] = {"resultType": result_type}
    if flags:
        data["encodingFlags"] = flags
    data["result"] = result
    data["stats"] = stats
    return {"status": "success", "data": data}


def names_body(names: list[Any]) -> dict[str, Any]:
    """Loki leaves `data` out entirely when there is nothing to list."""
    return {"status": "success", "data": names} if names else {"status": "success"}


def scalar_timestamp(t_ns: int) -> int:
    """Loki 3.4.2 stamps instant scalars with `int64(t_ns * 1000) / 1e6`, overflowed (instant_scalar.json)."""
    wrapped = (t_ns * 1000) % 2**64
    signed = wrapped - 2**64 if wrapped >= 2**63 else wrapped
    return int(signed / 1_000_000)


def json_response(body: Any, media_type: str = JSON_TYPE) -> Response:
    return Response(json.dumps(body, separators=(",", ":"), ensure_ascii=False), media_type=media_type)
