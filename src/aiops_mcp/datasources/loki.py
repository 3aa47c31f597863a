"""Client for the Grafana Loki HTTP API (`/loki/api/v1`), checked against recordings of Loki 3.4.

Times are unix seconds (floats) at this boundary and travel to Loki as integer nanoseconds
(microsecond precision); pass a `Nanoseconds` where a log entry's exact time matters (paging).
Log entry timestamps come back as integer nanoseconds. Loki's
behaviours handled here, each seen in the recorded fixtures:

* envelopes differ by endpoint: `{"status", "data"}` for queries and listings, where a missing
  `data` means "nothing" (an unknown label, a Loki still starting); bare objects for
  `index/stats`, `detected_*` and `status/buildinfo`;
* errors are text/plain, never JSON (a 405 has an empty body): `BackendClient` maps them;
* log entries are `[ns_string, line]`, plus a third element `{"structuredMetadata", "parsed"}`
  under the `categorize-labels` encoding, merged here into the entry's labels;
* entries are merged across streams and sorted by time in the query's direction;
* metric samples use Prometheus' encoding, with timestamps that may be fractional seconds; a
  scalar expression sent to `query_range` comes back as a matrix;
* `limit` cuts log results with no flag: callers treat `len(entries) == limit` as "maybe more".
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any, Literal
from urllib.parse import quote

from aiops_mcp.datasources.http import BackendClient, Readiness, Reply
from aiops_mcp.datasources.models import LogEntry, QueryData
from aiops_mcp.datasources.prometheus import format_seconds, parse_query_data

Direction = Literal["forward", "backward"]
API = "/loki/api/v1"
CATEGORIZE_LABELS = {"X-Loki-Response-Encoding-Flags": "categorize-labels"}


class Nanoseconds(int):
    """An exact unix time in nanoseconds, accepted wherever a time in float seconds is."""


Time = float | Nanoseconds


@dataclass(slots=True, frozen=True)
class IndexStats:
    """Index statistics for a selector. Loki estimates these: they are not exact counts."""

    streams: int
    chunks: int
    bytes: int
    entries: int


@dataclass(slots=True)
class Pattern:
    """A log line pattern detected by Loki, with its count per time bucket (unix seconds)."""

    pattern: str
    level: str | None
    timestamps: list[float]
    counts: list[int]


@dataclass(slots=True, frozen=True)
class DetectedField:
    """A field Loki found in the lines (parsed or structured metadata), from a sample of lines."""

    label: str
    type: str
    cardinality: int
    parsers: tuple[str, ...]


@dataclass(slots=True, frozen=True)
class DetectedLabel:
    """An index label and how many values it has."""

    label: str
    cardinality: int


class LokiClient(BackendClient):
    """Loki HTTP API. Results may come from the shared cache: treat them as read-only."""

    async def query(
        self,
        expr: str,
        time: float,
        limit: int | None = None,
        direction: Direction | None = None,
        *,
        cache: bool = True,
    ) -> QueryData:
        """Evaluate a metric query at `time`. Loki rejects log queries here (use `query_range`)."""
        params = _compact(query=expr, time=to_ns(time), limit=limit, direction=direction)
        parse = partial(self._query_data, direction=direction or "backward")
        return await self.request(f"{API}/query", params, parse=parse, cache=cache)

    async def query_range(
        self,
        expr: str,
        start: Time,
        end: Time,
        step: float | None = None,
        limit: int | None = None,
        direction: Direction = "backward",
        *,
        categorize_labels: bool = False,
        cache: bool = True,
    ) -> QueryData:
        """Run a log query (entries) or metric query (series) over [start, end].

        `limit` caps log entries (Loki's default is 100, its maximum usually 5000) and is cut
        silently. `categorize_labels` asks Loki to keep structured metadata and parsed fields out
        of the stream labels (smaller answers); entries carry them in their labels either way.
        """
        params = _compact(
            query=expr,
            start=to_ns(start),
            end=to_ns(end),
            step=None if step is None else format_seconds(step),
            limit=limit,
            direction=direction,
        )
        headers = CATEGORIZE_LABELS if categorize_labels else None
        parse = partial(self._query_data, direction=direction)
        return await self.request(f"{API}/query_range", params, parse=parse, headers=headers, cache=cache)

    async def labels(self, start: float, end: float, query: str | None = None) -> list[str]:
        """Index label names in the window, optionally only those of streams matching `query`."""
        params = _compact(start=to_ns(start), end=to_ns(end), query=query)
        return await self.request(f"{API}/labels", params, parse=self._list)

    async def label_values(self, name: str, start: float, end: float, query: str | None = None) -> list[str]:
        """Values of index label `name` in the window, optionally only in streams matching `query`."""
        path = f"{API}/label/{quote(name, safe='')}/values"
        params = _compact(start=to_ns(start), end=to_ns(end), query=query)
        return await self.request(path, params, parse=self._list)

    async def series(self, match: Sequence[str], start: float, end: float) -> list[dict[str, str]]:
        """Label sets of the streams matching any selector in `match` (all streams when empty)."""
        params = _compact(**{"match[]": list(match) or None}, start=to_ns(start), end=to_ns(end))
        return await self.request(f"{API}/series", params, parse=self._list)

    async def index_stats(self, query: str, start: float, end: float) -> IndexStats:
        """Estimated streams, chunks, bytes and entries for a stream selector."""
        params = _compact(query=query, start=to_ns(start), end=to_ns(end))
        return await self.request(f"{API}/index/stats", params, parse=self._index_stats)

    async def index_volume(
        self,
        query: str,
        start: float,
        end: float,
        limit: int | None = None,
        target_labels: Sequence[str] | None = None,
        aggregate_by: Literal["series", "labels"] | None = None,
    ) -> QueryData:
        """Estimated bytes per series (or per label with `aggregate_by="labels"`), as a vector."""
        params = _volume_params(query, start, end, limit, target_labels, aggregate_by)
        return await self.request(f"{API}/index/volume", params, parse=self._query_data)

    async def index_volume_range(
        self,
        query: str,
        start: float,
        end: float,
        step: float | None = None,
        limit: int | None = None,
        target_labels: Sequence[str] | None = None,
        aggregate_by: Literal["series", "labels"] | None = None,
    ) -> QueryData:
        """Estimated bytes per series over time, as a matrix."""
        params = _volume_params(query, start, end, limit, target_labels, aggregate_by)
        if step is not None:
            params["step"] = format_seconds(step)
        return await self.request(f"{API}/index/volume_range", params, parse=self._query_data)

    async def patterns(
        self, query: str, start: float, end: float, step: float | None = None
    ) -> list[Pattern]:
        """Line patterns Loki detected in recent logs (the pattern ingester sees only recent hours)."""
        params = _compact(
            query=query,
            start=to_ns(start),
            end=to_ns(end),
            step=None if step is None else format_seconds(step),
        )
        return await self.request(f"{API}/patterns", params, parse=self._patterns)

    async def detected_fields(
        self,
        query: str,
        start: float,
        end: float,
        line_limit: int | None = None,
        limit: int | None = None,
    ) -> list[DetectedField]:
        """Fields found in a sample of `line_limit` lines (Loki's default samples 100)."""
        params = _compact(query=query, start=to_ns(start), end=to_ns(end), line_limit=line_limit, limit=limit)
        return await self.request(f"{API}/detected_fields", params, parse=self._detected_fields)

    async def detected_field_values(
        self,
        name: str,
        query: str,
        start: float,
        end: float,
        line_limit: int | None = None,
        limit: int | None = None,
    ) -> list[str]:
        """Values of detected field `name` in a sample of lines (unordered)."""
        path = f"{API}/detected_field/{quote(name, safe='')}/values"
        params = _compact(query=query, start=to_ns(start), end=to_ns(end), line_limit=line_limit, limit=limit)
        return await self.request(
            path, params, parse=lambda r: [str(v) for v in self._bare(r).get("values") or ()]
        )

    async def detected_labels(self, query: str, start: float, end: float) -> list[DetectedLabel]:
        """Index labels of the matching streams with their cardinality."""
        params = _compact(query=query, start=to_ns(start), end=to_ns(end))
        return await self.request(f"{API}/detected_labels", params, parse=self._detected_labels)

    async def format_query(self, expr: str) -> str:
        """Loki's canonical formatting of a LogQL query (also a cheap syntax check)."""
        return await self.request(
            f"{API}/format_query", {"query": expr}, parse=lambda r: str(self._data(r) or "")
        )

    async def buildinfo(self) -> dict[str, str]:
        """Version, revision, branch, build user/date and Go version (empty for unstamped builds)."""
        return await self.request(
            f"{API}/status/buildinfo", parse=lambda r: {str(k): str(v) for k, v in self._bare(r).items()}
        )

    async def ready(self) -> Readiness:
        """Whether Loki is ready; while starting (503) the message lists what it waits for."""
        return await self._readiness("/ready")

    # -- parsing ---------------------------------------------------------------------------

    def _bare(self, reply: Reply) -> dict[str, Any]:
        """A JSON object body; one with a `status` must say success."""
        doc = self.decode_json(reply)
        if not isinstance(doc, dict):
            raise self.invalid(reply, f"expected a JSON object, got {str(doc)[:200]}")
        if doc.get("status", "success") != "success":
            raise self.invalid(reply, f"status {doc.get('status')!r}: {doc.get('error', '')}")
        return doc

    def _data(self, reply: Reply) -> Any:
        """`data` of an enveloped answer; None when Loki left it out (nothing to return)."""
        return self._bare(reply).get("data")

    def _list(self, reply: Reply) -> list[Any]:
        return list(self._data(reply) or ())

    def _query_data(self, reply: Reply, direction: Direction = "backward") -> QueryData:
        doc = self._bare(reply)
        data = doc["data"]
        warnings = [str(w) for w in doc.get("warnings") or data.get("warnings") or ()]
        if data["resultType"] == "streams":
            return QueryData("streams", entries=_entries(data["result"], direction), warnings=warnings)
        return parse_query_data(data, warnings)

    def _index_stats(self, reply: Reply) -> IndexStats:
        doc = self._bare(reply)
        return IndexStats(*(int(doc.get(k, 0)) for k in ("streams", "chunks", "bytes", "entries")))

    def _patterns(self, reply: Reply) -> list[Pattern]:
        patterns = []
        for item in self._list(reply):
            samples = item.get("samples") or ()
            timestamps = [float(ts) for ts, _ in samples]
            counts = [int(count) for _, count in samples]
            patterns.append(Pattern(item["pattern"], item.get("level"), timestamps, counts))
        return patterns

    def _detected_fields(self, reply: Reply) -> list[DetectedField]:
        return [
            DetectedField(
                f["label"], f.get("type", ""), int(f.get("cardinality", 0)), tuple(f.get("parsers") or ())
            )
            for f in self._bare(reply).get("fields") or ()
        ]

    def _detected_labels(self, reply: Reply) -> list[DetectedLabel]:
        return [
            DetectedLabel(item["label"], int(item.get("cardinality", 0)))
            for item in self._bare(reply).get("detectedLabels") or ()
        ]


def to_ns(time: Time) -> int:
    """Unix seconds to integer nanoseconds, rounded to the microsecond; `Nanoseconds` pass as they are.

    A float cannot hold nanoseconds since 1970 exactly; rounding at microseconds keeps whole and
    millisecond values (1795478399.999) exact.
    """
    if isinstance(time, Nanoseconds):
        return int(time)
    return round(time * 1_000_000) * 1000


def _entries(result: Sequence[dict[str, Any]], direction: Direction) -> list[LogEntry]:
    """Entries of all streams, sorted newest first (backward) or oldest first (forward)."""
    entries: list[LogEntry] = []
    for stream in result:
        labels = dict(stream.get("stream") or {})
        for value in stream.get("values") or ():
            entries.append(LogEntry(int(value[0]), value[1], _entry_labels(labels, value)))
    entries.sort(key=attrgetter("timestamp_ns"), reverse=direction == "backward")
    return entries


def _entry_labels(labels: dict[str, str], value: Sequence[Any]) -> dict[str, str]:
    """Stream labels plus, under categorize-labels, the entry's structured metadata and parsed fields.

    That matches what the default encoding puts in the stream labels, so callers see the same
    labels whichever encoding was used. Entries without extras share their stream's dict.
    """
    if len(value) < 3 or not value[2]:
        return labels
    extra = value[2]
    return {**labels, **(extra.get("structuredMetadata") or {}), **(extra.get("parsed") or {})}


def _compact(**values: Any) -> dict[str, str | list[str]]:
    """Parameters without the unset ones, as strings (lists stay repeated parameters)."""
    return {k: v if isinstance(v, list) else str(v) for k, v in values.items() if v is not None}


def _volume_params(
    query: str,
    start: float,
    end: float,
    limit: int | None,
    target_labels: Sequence[str] | None,
    aggregate_by: str | None,
) -> dict[str, str | list[str]]:
    return _compact(
        query=query,
        start=to_ns(start),
        end=to_ns(end),
        limit=limit,
        targetLabels=",".join(target_labels) if target_labels else None,
        aggregateBy=aggregate_by,
    )
