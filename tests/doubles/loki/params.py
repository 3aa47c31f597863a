"""Request parameters as Loki reads them: times, bounds, limit, direction, step and the query."""

from __future__ import annotations

import calendar
import math
import re
from decimal import Decimal

from aiops_mcp.query.logql import (
    LogExpr,
    LogQLQuery,
    LogQLSyntaxError,
    StreamSelector,
    parse_logql,
    parse_prometheus_duration,
)
from tests.doubles.loki.dataset import NS
from tests.doubles.loki.errors import ERRORS, BadRequest

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000
MAX_POINTS = 11_000


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def _seconds_ns(value: str) -> int | None:
    """Nanoseconds for a decimal number of seconds (`1.5`, `60`), else None."""
    return round(Decimal(value) * NS) if _DECIMAL.fullmatch(value) else None


def parse_time(value: str) -> int:
    """Nanoseconds from Loki's accepted forms: ns or s integers, fractional seconds, RFC3339."""
    if "." in value and _seconds_ns(value) is not None:
        return _seconds_ns(value) or 0
    if re.fullmatch(r"[+-]?[0-9]+", value):
        number = int(value)
        return number * NS if len(value) <= 10 else number
    m = _RFC3339.fullmatch(value)
    if not m:
        raise ValueError(f'strconv.ParseInt: parsing "{value}": invalid syntax')
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    zone = m.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    fraction = int((m.group(7) or ".0")[1:].ljust(9, "0")[:9])
    return seconds * NS + fraction


class Params:
    """Query-string and form parameters of one request."""

    def __init__(self, pairs: list[tuple[str, str]], now_ns: int) -> None:
        self.pairs = pairs
        self.now_ns = now_ns

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.pairs if k == name), None)

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]

    def time(self, name: str, default: int) -> int:
        value = self.get(name)
        if not value:
            return default
        try:
            return parse_time(value)
        except ValueError as exc:
            raise BadRequest(f"could not parse '{name}' parameter: {exc}") from None

    def bounds(self, default_since_ns: int) -> tuple[int, int]:
        end = self.time("end", self.now_ns)
        start = self.time("start", end - default_since_ns)
        if end <= start:
            raise BadRequest(ERRORS["end_before_start"])
        return start, end

    def limit(self) -> int:
        value = self.get("limit")
        if not value:
            return DEFAULT_LIMIT
        try:
            limit = int(value)
        except ValueError:
            raise BadRequest(f'strconv.ParseUint: parsing "{value}": invalid syntax') from None
        if limit <= 0:
            raise BadRequest(ERRORS["limit"])
        return limit

    def forward(self) -> bool:
        value = self.get("direction") or "backward"
        if value.upper() not in ("FORWARD", "BACKWARD"):
            raise BadRequest(f"invalid direction '{value}'")
        return value.upper() == "FORWARD"

    def step(self, start: int, end: int) -> int:
        value = self.get("step")
        if not value:
            return max(math.floor((end - start) / NS / 250), 1) * NS
        step = _seconds_ns(value)
        if step is None:
            step = parse_prometheus_duration(value)
        if step is None:
            raise BadRequest(f'cannot parse "{value}" to a valid duration')
        if step <= 0:
            raise BadRequest(ERRORS["negative_step"])
        if (end - start) // step > MAX_POINTS:
            raise BadRequest(ERRORS["step_too_small"])
        return step

    def query(self, name: str = "query") -> LogQLQuery:
        try:
            return parse_logql(self.get(name) or "")
        except LogQLSyntaxError as exc:
            raise BadRequest(exc.detail) from None


def selector_only(query: LogQLQuery) -> StreamSelector:
    if not isinstance(query.expr, LogExpr) or query.expr.stages:
        raise BadRequest(ERRORS["matchers_only"])
    return query.expr.selector
