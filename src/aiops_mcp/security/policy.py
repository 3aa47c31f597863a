"""Datasource clients as one principal sees them: confined, redacted, within cost limits.

`ConfinedPrometheus` and `ConfinedLoki` are views of a shared client. Their API methods are the
shared client's own (inherited), and every request they build passes through `Policy` on its way
to the shared transport (and its cache, retries and breaker) and back:

* a principal with enforced labels (`label:namespace=payments`) has every PromQL selector and
  every LogQL stream selector rewritten through the syntax tree to carry them (discovery calls
  get them as `match[]` or `query`); endpoints that cannot be confined (live alerts, rules,
  targets) are refused;
* log lines, label values and patterns are redacted (`security.redaction`), the count going
  to the request's ledger, which the result's note and the audit entry read;
* a log query whose streams Loki's index estimates at more than `max_log_bytes` is refused
  before it runs, saying how much it would read;
* every query sent is written to the ledger for the audit log.
"""

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aiops_mcp.datasources.loki import API as LOKI_API
from aiops_mcp.datasources.loki import IndexStats, LokiClient, Nanoseconds, Pattern
from aiops_mcp.datasources.models import Listing, LogEntry, QueryData, Series
from aiops_mcp.datasources.prometheus import PrometheusClient
from aiops_mcp.query.errors import QueryInputError
from aiops_mcp.query.logql import parse_logql
from aiops_mcp.query.promql import LabelMatcher
from aiops_mcp.query.scoping import (
    enforce_logql,
    enforce_promql,
    enforce_series_selectors,
    enforce_stream_selectors,
)
from aiops_mcp.security.context import current_ledger
from aiops_mcp.security.scopes import Principal

if TYPE_CHECKING:
    from aiops_mcp.security.redaction import Redactor

Params = Mapping[str, str | Sequence[str]]

PROMETHEUS_QUERIES = ("/api/v1/query", "/api/v1/query_range")
PROMETHEUS_DISCOVERY = ("/api/v1/series", "/api/v1/labels", "/api/v1/label/")
PROMETHEUS_OPEN = ("/api/v1/metadata", "/api/v1/status/buildinfo", "/-/ready")
"""Endpoints that return no series data: the same for every principal."""

LOKI_QUERIES = tuple(
    f"{LOKI_API}/{p}"
    for p in ("query", "query_range", "index/stats", "index/volume", "index/volume_range", "patterns")
) + tuple(f"{LOKI_API}/{p}" for p in ("detected_fields", "detected_field/", "detected_labels"))
LOKI_LOG_READS = (f"{LOKI_API}/query", f"{LOKI_API}/query_range")
LOKI_DISCOVERY = (f"{LOKI_API}/labels", f"{LOKI_API}/label/")
LOKI_OPEN = (f"{LOKI_API}/format_query", f"{LOKI_API}/status/buildinfo", "/ready")


class AccessDenied(QueryInputError):
    """The caller's scopes do not allow this; the message says which scope would."""


class LogQueryTooExpensive(QueryInputError):
    """A log query Loki's index says would read more than the configured limit."""


@dataclasses.dataclass(frozen=True)
class Policy:
    """The rules for one principal's requests: enforced labels, redaction, the log-bytes limit."""

    principal: Principal
    redactor: "Redactor | None"
    max_log_bytes: int = 0
    """0: no limit."""

    def prometheus(self, path: str, params: Params | None) -> Params | None:
        """The request as it may be sent, or `AccessDenied`."""
        if not self.principal.scoped or path.startswith(PROMETHEUS_OPEN):
            return params
        out = dict(params or {})
        if path in PROMETHEUS_QUERIES:
            out["query"] = _confine(_text(out, "query"), enforce_promql, self.principal)
        elif path.startswith(PROMETHEUS_DISCOVERY):
            out["match[]"] = enforce_series_selectors(_many(out, "match[]"), self.principal.labels)
        else:
            raise self._denied(path)
        return out

    def loki(self, path: str, params: Params | None) -> Params | None:
        """The request as it may be sent, or `AccessDenied`."""
        if not self.principal.scoped or path.startswith(LOKI_OPEN):
            return params
        out = dict(params or {})
        if path.startswith(LOKI_QUERIES):
            out["query"] = _confine(_text(out, "query"), enforce_logql, self.principal)
        elif path.startswith(LOKI_DISCOVERY):
            given = [_text(out, "query")] if _text(out, "query") else []
            (out["query"],) = enforce_stream_selectors(given, self.principal.labels)
        elif path == f"{LOKI_API}/series":
            out["match[]"] = enforce_stream_selectors(_many(out, "match[]"), self.principal.labels)
        else:
            raise self._denied(path)
        return out

    def redact(self, result: Any) -> Any:
        """`result` with secrets replaced (a copy when anything changed; cached values stay intact)."""
        if self.redactor is None:
            return result
        scrub = _Scrub(self.redactor)
        redacted = scrub.value(result)
        ledger = current_ledger()
        if scrub.count and ledger is not None:
            ledger.redactions += scrub.count
        return redacted

    def _denied(self, path: str) -> AccessDenied:
        labels = ", ".join(str(m) for m in self.principal.labels)
        return AccessDenied(f"{path} cannot be confined to {labels}: not available to this token")


class ConfinedPrometheus(PrometheusClient):
    """A view of a shared `PrometheusClient` for one principal (see the module docstring)."""

    def __init__(self, shared: PrometheusClient, policy: Policy) -> None:
        # A view, not a client: the inherited API methods read config, name and url from here
        # and send through `request`, which hands every request to the shared client.
        self.__dict__.update(shared.__dict__)
        self._underlying = shared
        self._policy = policy

    async def request(self, path: str, params: Params | None = None, **options: Any) -> Any:
        sent = self._policy.prometheus(path, params)
        _note(self.name, sent)
        return self._policy.redact(await self._underlying.request(path, sent, **options))

    async def aclose(self) -> None:
        """Nothing to close: the shared client belongs to the registry."""


class ConfinedLoki(LokiClient):
    """A view of a shared `LokiClient` for one principal (see the module docstring)."""

    def __init__(self, shared: LokiClient, policy: Policy) -> None:
        self.__dict__.update(shared.__dict__)  # see ConfinedPrometheus
        self._underlying = shared
        self._policy = policy

    async def request(self, path: str, params: Params | None = None, **options: Any) -> Any:
        sent = self._policy.loki(path, params)
        if path in LOKI_LOG_READS and self._policy.max_log_bytes > 0 and sent:
            await self._check_cost(sent)
        _note(self.name, sent)
        return self._policy.redact(await self._underlying.request(path, sent, **options))

    async def aclose(self) -> None:
        """Nothing to close: the shared client belongs to the registry."""

    async def _check_cost(self, params: Params) -> None:
        """Refuse a log query whose streams the index estimates above the byte limit."""
        query = parse_logql(_text(params, "query"))
        end = _ns(params.get("end") or params.get("time"))
        start = _ns(params.get("start")) if "start" in params else None
        if end is None:
            return
        if start is None:  # an instant metric query reads its widest range window
            start = Nanoseconds(end - int(max(query.range_windows or (0,)) * 1e9))
        total = 0
        for selector in {str(s) for s in query.selectors}:
            stats: IndexStats = await self._underlying.index_stats(selector, start, Nanoseconds(end))
            total += stats.bytes
        limit = self._policy.max_log_bytes
        if total > limit:
            raise LogQueryTooExpensive(
                f"this log query would read about {_size(total)} (Loki's index estimate), over the "
                f"{_size(limit)} limit: narrow the stream selector or the time range"
            )


def _confine(query: str, enforce: Callable[[str, Sequence[LabelMatcher]], str], principal: Principal) -> str:
    """The query with the principal's labels, remembered in the ledger when it changed."""
    sent = enforce(query, principal.labels)
    ledger = current_ledger()
    if ledger is not None and sent != query:
        ledger.confined[query] = sent
    return sent


def _note(datasource: str, params: Params | None) -> None:
    ledger = current_ledger()
    if ledger is not None and params and "query" in params:
        ledger.sent(datasource, _text(params, "query"))


def _text(params: Params, name: str) -> str:
    value = params.get(name)
    return value if isinstance(value, str) else ""


def _many(params: Params, name: str) -> list[str]:
    value = params.get(name)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _ns(value: str | Sequence[str] | None) -> Nanoseconds | None:
    return Nanoseconds(int(value)) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} TB"


class _Scrub:
    """Redacts the text a model would see in a parsed answer: log lines, label values, patterns."""

    def __init__(self, redactor: "Redactor") -> None:
        self.redactor = redactor
        self.count = 0

    def text(self, text: str) -> str:
        out, n = self.redactor.redact(text)
        self.count += n
        return out

    def labels(self, labels: dict[str, str]) -> dict[str, str] | None:
        """The labels redacted, or None when nothing changed (the caller keeps the original)."""
        out: dict[str, str] | None = None
        for name, value in labels.items():
            redacted, count = self.redactor.redact_value(value)
            if count:
                out = out if out is not None else dict(labels)
                out[name] = redacted
                self.count += count
        return out

    def value(self, value: Any) -> Any:
        """`value` with secrets replaced: a copy where anything changed, the same object otherwise."""
        if isinstance(value, QueryData):
            series = [self.series(s) for s in value.series]
            entries = [self.entry(e) for e in value.entries]
            changed = any(a is not b for a, b in zip(series, value.series, strict=True)) or any(
                a is not b for a, b in zip(entries, value.entries, strict=True)
            )
            return dataclasses.replace(value, series=series, entries=entries) if changed else value
        if isinstance(value, Listing):
            items = self.value(value.items)
            return dataclasses.replace(value, items=items) if items is not value.items else value
        if isinstance(value, list):
            items = [self.value(item) for item in value]
            return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
        if isinstance(value, str):
            out = self.text(value)
            return out if out != value else value
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return self.labels(value) or value
        if isinstance(value, Pattern):
            pattern = self.text(value.pattern)
            return dataclasses.replace(value, pattern=pattern) if pattern != value.pattern else value
        return value

    def series(self, series: Series) -> Series:
        labels = self.labels(series.labels)
        return series if labels is None else dataclasses.replace(series, labels=labels)

    def entry(self, entry: LogEntry) -> LogEntry:
        line, labels = self.text(entry.line), self.labels(entry.labels)
        if line == entry.line and labels is None:
            return entry
        return dataclasses.replace(entry, line=line, labels=labels if labels is not None else entry.labels)
