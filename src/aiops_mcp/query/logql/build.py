"""Building LogQL text around untrusted values: stream selectors and line filters.

Values are quoted with `escape_logql_string`, so any text (quotes, braces, backticks) stays one
value and cannot change the query around it."""

import re
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass, replace
from typing import Any

from aiops_mcp.query.logql.ast import LineFilter, LogExpr, Matcher, StreamSelector
from aiops_mcp.query.logql.errors import LogQLSyntaxError
from aiops_mcp.query.logql.parser import parse_logql

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def stream_selector(labels: Mapping[str, str]) -> str:
    """Build `{name="value", ...}` from exact label values; raises `QuerySyntaxError` on bad names.

    Values are escaped, so any text (quotes, braces, backticks) stays one value. The result is
    validated like any query: at least one value must be non-empty."""
    for name in labels:
        if not _LABEL_NAME.fullmatch(name):
            raise LogQLSyntaxError(f"invalid label name {name!r}: use letters, digits and _", None)
    text = str(StreamSelector(tuple(Matcher(k, "=", v) for k, v in labels.items())))
    parse_logql(text)
    return text


def add_line_filter(query_text: str, contains: str) -> str:
    """Return the query with `|= "contains"` placed first in every pipeline (log and metric queries)."""
    query = parse_logql(query_text)
    added = LineFilter("|=", (contains,))

    def prepend(node: object) -> object:
        if isinstance(node, LogExpr):
            return replace(node, stages=(added, *node.stages))
        return node

    return str(_transform(query.expr, prepend))


def _transform(node: Any, fn: Callable[[object], object]) -> Any:
    """Rebuild `node` bottom-up, passing every node through `fn`."""
    if not is_dataclass(node) or isinstance(node, type):
        return node
    changes = {}
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, tuple):
            changes[f.name] = tuple(_transform(v, fn) for v in value)
        elif is_dataclass(value):
            changes[f.name] = _transform(value, fn)
    return fn(replace(node, **changes))
