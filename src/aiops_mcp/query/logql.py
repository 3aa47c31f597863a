"""LogQL parsing and validation: a small tokenizer and recursive-descent parser for Grafana Loki's language.

`parse_logql(text)` returns a `LogQLQuery` (an immutable AST with a few summaries) or raises
`LogQLSyntaxError`, a `QuerySyntaxError` whose `detail` is worded like Loki's own parse errors
(``parse error at line 1, col 14: literal not terminated``, ``parse error : queries require at least
one regexp or equality matcher ...``) and whose `position` is a 0-based offset into the text.

Supported: stream selectors; line filters (``|= != |~ !~ |> !>``, ``or``-chained values, ``ip()``);
parsers (``json``, ``logfmt`` with flags, ``regexp``, ``pattern``, ``unpack``), label filters (string,
number, duration, bytes and ip comparisons combined with ``and``/``or``/``,``), ``line_format``,
``label_format``, ``drop``, ``keep``, ``decolorize``; ``unwrap`` with conversions; range aggregations
with ``[range]`` and ``offset``; vector aggregations with ``by``/``without``; binary operators with
``bool``, ``on``/``ignoring`` and ``group_left``/``group_right``; numbers, ``vector()``, ``label_replace()``.

`str(query)` renders a canonical form that parses back to an equal AST. `escape_logql_string` and
`stream_selector` build injection-safe query text; `compile_go_regex` checks Go (RE2) regular
expressions with Python's `re` after translating the syntax that differs.
"""

import difflib
import functools
import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, Literal, NoReturn

from aiops_mcp.query.errors import QuerySyntaxError

__all__ = [
    "EMPTY_COMPATIBLE",
    "BinaryOp",
    "ComparisonFilter",
    "Decolorize",
    "DropLabels",
    "Expr",
    "GoRegexError",
    "Grouping",
    "IpLabelFilter",
    "KeepLabels",
    "LabelExtraction",
    "LabelFilterExpr",
    "LabelFilterStage",
    "LabelFormat",
    "LabelFormatItem",
    "LabelMatchFilter",
    "LabelReplace",
    "LineFilter",
    "LineFormat",
    "LogExpr",
    "LogQLQuery",
    "LogQLSyntaxError",
    "LogRange",
    "LogicalLabelFilter",
    "Matcher",
    "MetricExpr",
    "NumberLiteral",
    "ParserStage",
    "RangeAggregation",
    "Stage",
    "StreamSelector",
    "Unwrap",
    "VectorAggregation",
    "VectorLiteral",
    "VectorMatching",
    "add_line_filter",
    "compile_go_regex",
    "escape_logql_string",
    "format_duration",
    "parse_bytes",
    "parse_duration",
    "parse_go_duration",
    "parse_logql",
    "parse_prometheus_duration",
    "stream_selector",
    "walk",
]

EMPTY_COMPATIBLE = (
    "queries require at least one regexp or equality matcher that does not have an empty-compatible "
    'value. For instance, app=~".*" does not meet this requirement, but app=~".+" will'
)
RANGE_OPS = (
    "count_over_time",
    "rate",
    "rate_counter",
    "bytes_over_time",
    "bytes_rate",
    "avg_over_time",
    "sum_over_time",
    "min_over_time",
    "max_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "quantile_over_time",
    "first_over_time",
    "last_over_time",
    "absent_over_time",
)
VECTOR_OPS = ("sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "sort", "sort_desc")
FUNCTIONS = (*RANGE_OPS, *VECTOR_OPS, "vector", "label_replace")
UNWRAP_REQUIRED = frozenset(
    {
        "avg_over_time",
        "sum_over_time",
        "min_over_time",
        "max_over_time",
        "stdvar_over_time",
        "stddev_over_time",
        "quantile_over_time",
        "first_over_time",
        "last_over_time",
        "rate_counter",
    }
)
UNWRAP_ALLOWED = UNWRAP_REQUIRED | {"rate", "absent_over_time"}
RANGE_GROUPING_ALLOWED = frozenset(
    {
        "avg_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "quantile_over_time",
        "max_over_time",
        "min_over_time",
        "first_over_time",
        "last_over_time",
    }
)
CONVERSIONS = ("bytes", "duration", "duration_seconds")
LINE_FILTER_OPS = ("|=", "!=", "|~", "!~", "|>", "!>")
MATCH_OPS = ("=", "!=", "=~", "!~")
COMPARISON_OPS = ("==", "!=", ">", ">=", "<", "<=")
LABEL_FILTER_OPS = ("=", "==", "!=", "=~", "!~", ">", ">=", "<", "<=")
STAGE_WORDS = frozenset(
    {
        "json",
        "logfmt",
        "regexp",
        "pattern",
        "unpack",
        "line_format",
        "label_format",
        "drop",
        "keep",
        "decolorize",
    }
)
PARSER_FLAGS = ("--strict", "--keep-empty")
PRECEDENCE = {
    "or": 1,
    "and": 2,
    "unless": 2,
    "==": 3,
    "!=": 3,
    ">": 3,
    ">=": 3,
    "<": 3,
    "<=": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "^": 6,
}
MAX_DEPTH = 200
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class LogQLSyntaxError(QuerySyntaxError):
    """A LogQL query that Loki would reject; `detail` is the Loki-style message alone."""

    def __init__(self, detail: str, position: int | None) -> None:
        super().__init__("LogQL", detail, position)
        self.detail = detail


class GoRegexError(ValueError):
    """A regular expression that Go's regexp package rejects; the message is Go's wording."""


# ---------------------------------------------------------------------------------------------
# AST
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Matcher:
    """`name op "value"` with op one of ``= != =~ !~``; regexes are anchored, as in Prometheus."""

    name: str
    op: str
    value: str

    def __str__(self) -> str:
        return f"{self.name}{self.op}{escape_logql_string(self.value)}"


@dataclass(frozen=True)
class StreamSelector:
    """`{matcher, ...}`: picks the streams a query reads."""

    matchers: tuple[Matcher, ...]

    def __str__(self) -> str:
        return "{" + ", ".join(str(m) for m in self.matchers) + "}"


@dataclass(frozen=True)
class LineFilter:
    """`|= "a" or "b"`: keeps (or drops, for ``!=``/``!~``/``!>``) lines matching any of `values`."""

    op: str
    values: tuple[str, ...]
    ip: bool = False

    def __str__(self) -> str:
        if self.ip:
            return f"{self.op} ip({escape_logql_string(self.values[0])})"
        return f"{self.op} " + " or ".join(escape_logql_string(v) for v in self.values)


@dataclass(frozen=True)
class LabelExtraction:
    """One `label` or `label="expression"` item after ``json`` or ``logfmt``."""

    label: str
    expression: str | None = None

    def __str__(self) -> str:
        return (
            self.label if self.expression is None else f"{self.label}={escape_logql_string(self.expression)}"
        )


@dataclass(frozen=True)
class ParserStage:
    """`| json`, `| logfmt --strict a`, `| regexp "..."`, `| pattern "..."`, `| unpack`."""

    name: str
    argument: str | None = None
    flags: tuple[str, ...] = ()
    extractions: tuple[LabelExtraction, ...] = ()

    def __str__(self) -> str:
        parts = [f"| {self.name}", *self.flags]
        if self.argument is not None:
            parts.append(escape_logql_string(self.argument))
        text = " ".join(parts)
        if self.extractions:
            text += " " + ", ".join(str(e) for e in self.extractions)
        return text


@dataclass(frozen=True)
class LabelMatchFilter:
    """A string label filter: `level="error"`, `path=~"/api/.*"`."""

    matcher: Matcher

    def __str__(self) -> str:
        return str(self.matcher)


@dataclass(frozen=True)
class ComparisonFilter:
    """`status >= 500`, `duration > 1s`, `size < 10KB`: `value` is a float, nanoseconds or bytes."""

    name: str
    op: str
    value: float
    unit: Literal["number", "duration", "bytes"] = "number"

    def __str__(self) -> str:
        if self.unit == "duration":
            shown = format_duration(int(self.value))
        elif self.unit == "bytes":
            shown = _format_bytes(int(self.value))
        else:
            shown = _format_number(self.value)
        return f"{self.name} {self.op} {shown}"


@dataclass(frozen=True)
class IpLabelFilter:
    """`addr = ip("10.0.0.0/8")`."""

    name: str
    op: str
    pattern: str

    def __str__(self) -> str:
        return f"{self.name} {self.op} ip({escape_logql_string(self.pattern)})"


@dataclass(frozen=True)
class LogicalLabelFilter:
    """Two label filters joined by ``and`` (also written ``,`` or a space) or ``or``."""

    op: Literal["and", "or"]
    left: "LabelFilterExpr"
    right: "LabelFilterExpr"

    def __str__(self) -> str:
        mine = 2 if self.op == "and" else 1
        left, right = str(self.left), str(self.right)
        if isinstance(self.left, LogicalLabelFilter) and (2 if self.left.op == "and" else 1) < mine:
            left = f"({left})"
        if isinstance(self.right, LogicalLabelFilter) and (2 if self.right.op == "and" else 1) <= mine:
            right = f"({right})"
        return f"{left} {self.op} {right}"


LabelFilterExpr = LabelMatchFilter | ComparisonFilter | IpLabelFilter | LogicalLabelFilter


@dataclass(frozen=True)
class LabelFilterStage:
    """`| <label filter>` in a pipeline."""

    filter: LabelFilterExpr

    def __str__(self) -> str:
        return f"| {self.filter}"


@dataclass(frozen=True)
class LineFormat:
    """`| line_format "{{.msg}}"`: rewrites the line from a Go template."""

    template: str

    def __str__(self) -> str:
        return f"| line_format {escape_logql_string(self.template)}"


@dataclass(frozen=True)
class LabelFormatItem:
    """`dst=src` (rename) or `dst="{{.template}}"` (template) inside ``label_format``."""

    target: str
    source: str
    template: bool = False

    def __str__(self) -> str:
        return f"{self.target}={escape_logql_string(self.source) if self.template else self.source}"


@dataclass(frozen=True)
class LabelFormat:
    """`| label_format a=b, c="{{.d}}"`."""

    items: tuple[LabelFormatItem, ...]

    def __str__(self) -> str:
        return "| label_format " + ", ".join(str(i) for i in self.items)


@dataclass(frozen=True)
class DropLabels:
    """`| drop a, b="c"`: removes labels (a matcher removes the label only when it matches)."""

    items: tuple[str | Matcher, ...]

    def __str__(self) -> str:
        return "| drop " + ", ".join(str(i) for i in self.items)


@dataclass(frozen=True)
class KeepLabels:
    """`| keep a, b="c"`: keeps only these labels."""

    items: tuple[str | Matcher, ...]

    def __str__(self) -> str:
        return "| keep " + ", ".join(str(i) for i in self.items)


@dataclass(frozen=True)
class Decolorize:
    """`| decolorize`: strips ANSI colour codes from lines."""

    def __str__(self) -> str:
        return "| decolorize"


Stage = (
    LineFilter
    | ParserStage
    | LabelFilterStage
    | LineFormat
    | LabelFormat
    | DropLabels
    | KeepLabels
    | Decolorize
)


@dataclass(frozen=True)
class Unwrap:
    """`| unwrap label`, `| unwrap duration(label)`, then optional `| label filter` stages."""

    label: str
    conversion: str | None = None
    filters: tuple[LabelFilterExpr, ...] = ()

    def __str__(self) -> str:
        target = f"{self.conversion}({self.label})" if self.conversion else self.label
        return f"| unwrap {target}" + "".join(f" | {f}" for f in self.filters)


@dataclass(frozen=True)
class LogExpr:
    """A log query: a stream selector and its pipeline."""

    selector: StreamSelector
    stages: tuple[Stage, ...] = ()

    def __str__(self) -> str:
        return str(self.selector) + "".join(f" {s}" for s in self.stages)


@dataclass(frozen=True)
class LogRange:
    """A log query over a range window, the argument of a range aggregation."""

    log: LogExpr
    range_ns: int
    offset_ns: int = 0
    unwrap: Unwrap | None = None

    def __str__(self) -> str:
        text = str(self.log) + (f" {self.unwrap}" if self.unwrap else "")
        text += " " if self.log.stages or self.unwrap else ""
        text += f"[{format_duration(self.range_ns)}]"
        return text + (f" offset {format_duration(self.offset_ns)}" if self.offset_ns else "")


@dataclass(frozen=True)
class Grouping:
    """`by (a, b)` or `without (a, b)`."""

    labels: tuple[str, ...]
    without: bool = False

    def __str__(self) -> str:
        return f"{'without' if self.without else 'by'} ({', '.join(self.labels)})"


@dataclass(frozen=True)
class RangeAggregation:
    """`count_over_time({...}[5m])`, `quantile_over_time(0.95, {...} | unwrap x [5m]) by (app)`."""

    op: str
    range: LogRange
    param: float | None = None
    grouping: Grouping | None = None

    def __str__(self) -> str:
        param = f"{_format_number(self.param)}, " if self.param is not None else ""
        return f"{self.op}({param}{self.range})" + (f" {self.grouping}" if self.grouping else "")


@dataclass(frozen=True)
class VectorAggregation:
    """`sum by (app) (...)`, `topk(3, ...)`."""

    op: str
    expr: "MetricExpr"
    param: int | None = None
    grouping: Grouping | None = None

    def __str__(self) -> str:
        param = f"{self.param}, " if self.param is not None else ""
        group = f" {self.grouping} " if self.grouping else ""
        return f"{self.op}{group}({param}{self.expr})"


@dataclass(frozen=True)
class VectorMatching:
    """`on (a)` / `ignoring (a)` with an optional `group_left (b)` / `group_right (b)`."""

    on: bool
    labels: tuple[str, ...]
    group: Literal["left", "right"] | None = None
    include: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{'on' if self.on else 'ignoring'} ({', '.join(self.labels)})"
        if self.group:
            text += f" group_{self.group}" + (f" ({', '.join(self.include)})" if self.include else "")
        return text


@dataclass(frozen=True)
class BinaryOp:
    """`left op right` between metric queries and numbers."""

    op: str
    left: "MetricExpr"
    right: "MetricExpr"
    return_bool: bool = False
    matching: VectorMatching | None = None

    def __str__(self) -> str:
        mine = PRECEDENCE[self.op]
        left, right = str(self.left), str(self.right)
        if isinstance(self.left, BinaryOp):
            theirs = PRECEDENCE[self.left.op]
            if theirs < mine or (theirs == mine and self.op == "^"):
                left = f"({left})"
        if isinstance(self.right, BinaryOp):
            theirs = PRECEDENCE[self.right.op]
            if theirs < mine or (theirs == mine and self.op != "^"):
                right = f"({right})"
        op = self.op + (" bool" if self.return_bool else "") + (f" {self.matching}" if self.matching else "")
        return f"{left} {op} {right}"


@dataclass(frozen=True)
class NumberLiteral:
    """A number: `5`, `-0.5`, `1e3`."""

    value: float

    def __str__(self) -> str:
        return _format_number(self.value)


@dataclass(frozen=True)
class VectorLiteral:
    """`vector(1)`: a label-less series with a constant value."""

    value: float

    def __str__(self) -> str:
        return f"vector({_format_number(self.value)})"


@dataclass(frozen=True)
class LabelReplace:
    """`label_replace(expr, "dst", "replacement", "src", "regex")`."""

    expr: "MetricExpr"
    dst: str
    replacement: str
    src: str
    regex: str

    def __str__(self) -> str:
        args = (self.dst, self.replacement, self.src, self.regex)
        return f"label_replace({self.expr}, " + ", ".join(escape_logql_string(a) for a in args) + ")"


MetricExpr = RangeAggregation | VectorAggregation | BinaryOp | NumberLiteral | VectorLiteral | LabelReplace
Expr = LogExpr | MetricExpr


def walk(node: object) -> Iterator[object]:
    """Yield `node` and every AST node below it, depth first, in source order."""
    yield node
    if not is_dataclass(node):
        return
    for f in fields(node):
        value = getattr(node, f.name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if is_dataclass(item):
                yield from walk(item)


@dataclass(frozen=True)
class LogQLQuery:
    """A parsed LogQL query: the AST in `expr`, summaries as properties, `str()` the canonical text."""

    expr: Expr

    def __str__(self) -> str:
        return str(self.expr)

    @property
    def kind(self) -> Literal["log", "metric"]:
        """``log`` for a selector and pipeline (returns lines), ``metric`` for anything returning numbers."""
        return "log" if isinstance(self.expr, LogExpr) else "metric"

    def nodes(self) -> Iterator[object]:
        """Every node of the AST, depth first."""
        return walk(self.expr)

    @property
    def selectors(self) -> tuple[StreamSelector, ...]:
        """The stream selectors, in source order."""
        return tuple(n for n in self.nodes() if isinstance(n, StreamSelector))

    @property
    def matchers(self) -> tuple[Matcher, ...]:
        """The stream matchers of every selector (not label filters)."""
        return tuple(m for s in self.selectors for m in s.matchers)

    @property
    def line_filters(self) -> tuple[LineFilter, ...]:
        """The line filters, in source order."""
        return tuple(n for n in self.nodes() if isinstance(n, LineFilter))

    @property
    def parsers(self) -> tuple[ParserStage, ...]:
        """The parser stages (json, logfmt, regexp, pattern, unpack)."""
        return tuple(n for n in self.nodes() if isinstance(n, ParserStage))

    @property
    def has_parser(self) -> bool:
        """Whether any pipeline extracts labels from lines."""
        return bool(self.parsers)

    @property
    def range_windows(self) -> tuple[float, ...]:
        """The range windows of the range aggregations, in seconds."""
        return tuple(n.range_ns / 1e9 for n in self.nodes() if isinstance(n, LogRange))

    @property
    def groupings(self) -> tuple[Grouping, ...]:
        """Every `by`/`without` clause."""
        return tuple(n for n in self.nodes() if isinstance(n, Grouping))

    @property
    def grouping_labels(self) -> tuple[str, ...]:
        """Labels named in `by (...)` clauses, first occurrence first."""
        names = (label for g in self.groupings if not g.without for label in g.labels)
        return tuple(dict.fromkeys(names))


# ---------------------------------------------------------------------------------------------
# Rendering helpers
# ---------------------------------------------------------------------------------------------

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
}


def escape_logql_string(value: str) -> str:
    """Return `value` as a double-quoted LogQL string literal (Go syntax) that decodes to exactly `value`."""
    out = ['"']
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


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


def _format_number(value: float) -> str:
    """Shortest text that parses back to `value`."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


_DURATION_UNITS = (
    ("y", 365 * 86400 * 10**9),
    ("w", 7 * 86400 * 10**9),
    ("d", 86400 * 10**9),
    ("h", 3600 * 10**9),
    ("m", 60 * 10**9),
    ("s", 10**9),
    ("ms", 10**6),
    ("us", 10**3),
    ("ns", 1),
)


def format_duration(ns: int) -> str:
    """Render nanoseconds like Prometheus (`1h30m`, `500ms`, `1d`); `0s` for zero."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    parts = []
    for unit, size in _DURATION_UNITS:
        if ns >= size:
            parts.append(f"{ns // size}{unit}")
            ns %= size
    return sign + "".join(parts)


_BYTE_UNITS = (
    ("PiB", 1024**5),
    ("PB", 1000**5),
    ("TiB", 1024**4),
    ("TB", 1000**4),
    ("GiB", 1024**3),
    ("GB", 1000**3),
    ("MiB", 1024**2),
    ("MB", 1000**2),
    ("KiB", 1024),
    ("KB", 1000),
)


def _format_bytes(n: int) -> str:
    for unit, size in _BYTE_UNITS:
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}B"


# ---------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """A lexical token; `value` is the decoded string, number, nanoseconds or bytes."""

    kind: Literal["ident", "string", "number", "duration", "bytes", "range", "flag", "op", "eof"]
    text: str
    pos: int
    value: Any = None


DIGITS = "0123456789"
DIGITS_1 = tuple(DIGITS)
_OPS2 = ("!=", "!~", "!>", "=~", "==", "|=", "|~", "|>", ">=", "<=")
_OPS1 = "=|><(){},+-*/%^"
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PROM_DURATION = re.compile(
    r"(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?"
)
_GO_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_PROM_SIZES = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1)
_BYTES = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+) ?([a-zA-Z]*)")
_BYTE_SIZES = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "ki": 1024,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mi": 1024**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gi": 1024**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ti": 1024**4,
    "tib": 1024**4,
    "p": 1000**5,
    "pb": 1000**5,
    "pi": 1024**5,
    "pib": 1024**5,
}
_DURATION_RUNES = set("0123456789.numµsshdwy")
_BYTES_RUNES = set("0123456789.BikKMGTP")


def parse_prometheus_duration(text: str) -> int | None:
    """Nanoseconds for a Prometheus duration (`5m`, `1h30m`, `1d`, `0`), else None."""
    if text == "0":
        return 0
    m = _PROM_DURATION.fullmatch(text)
    if not text or not m:
        return None
    parts = m.groups()
    seconds = sum(int(p) * size for p, size in zip(parts[:6], _PROM_SIZES, strict=True) if p)
    return seconds * 10**9 + (int(parts[6]) * 10**6 if parts[6] else 0)


def parse_go_duration(text: str) -> int | None:
    """Nanoseconds for a Go duration (`1.5s`, `-300ms`, `2h45m`), else None."""
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-") if text[:1] in "+-" else text
    if body == "0":
        return 0
    pos, total = 0, 0.0
    while pos < len(body):
        m = _GO_DURATION_PART.match(body, pos)
        if not m or m.group(1) in ("", "."):
            return None
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    return sign * round(total) if body else None


def parse_duration(text: str) -> int | None:
    """Nanoseconds for a duration as Loki's lexer reads it: Prometheus syntax first, then Go's."""
    ns = parse_prometheus_duration(text)
    return ns if ns is not None else parse_go_duration(text)


def parse_bytes(text: str) -> int | None:
    """Bytes for a humanized size (`10KB`, `1.5MiB`, `512B`), else None."""
    m = _BYTES.fullmatch(text)
    if not m or m.group(2).lower() not in _BYTE_SIZES:
        return None
    return int(float(m.group(1)) * _BYTE_SIZES[m.group(2).lower()])


class _Lexer:
    """Turns query text into tokens; errors carry Loki's wording and the offending offset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, pos: int) -> NoReturn:
        raise LogQLSyntaxError(f"parse error at {_line_col(self.text, pos)}: {message}", pos)

    def tokens(self) -> list[Token]:
        out = []
        while True:
            tok = self.next_token()
            out.append(tok)
            if tok.kind == "eof":
                return out

    def next_token(self) -> Token:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch.isspace():
                self.pos += 1
            elif ch == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break
        if self.pos >= len(text):
            return Token("eof", "", self.pos)
        return self.scan(text[self.pos])

    def scan(self, ch: str) -> Token:
        start = self.pos
        if ch == '"':
            return self.string(start)
        if ch == "`":
            return self.raw_string(start)
        if ch == "[":
            return self.range(start)
        if ch in DIGITS or (ch == "." and self.text[start + 1 : start + 2] in DIGITS_1):
            return self.number(start)
        if ch == "-" and self.text.startswith("--", start):
            flag = self.flag(start)
            if flag:
                return flag
        if ch == "-" and self.text[start + 1 : start + 2] in DIGITS_1:
            negative = self.negative_duration(start)
            if negative:
                return negative
        if ch.isalpha() or ch == "_":
            return self.ident(start)
        return self.operator(start, ch)

    def string(self, start: int) -> Token:
        """A Go interpreted string: escapes decoded, raw bytes (\\x, octal) reassembled as UTF-8."""
        out = bytearray()
        i = start + 1
        text = self.text
        while True:
            if i >= len(text) or text[i] == "\n":
                self.error("literal not terminated", start)
            ch = text[i]
            if ch == '"':
                break
            if ch == "\\":
                i = self.escape(i, out)
                continue
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
        self.pos = i + 1
        try:
            value = out.decode("utf-8")
        except UnicodeDecodeError:
            self.error("invalid UTF-8 rune", start)
        return Token("string", text[start : i + 1], start, value)

    def escape(self, i: int, out: bytearray) -> int:
        """Decode the escape at `i` into `out`; return the index after it."""
        text = self.text
        code = text[i + 1 : i + 2]
        simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
        if code in simple:
            out.append(simple[code])
            return i + 2
        sizes = {"x": 2, "u": 4, "U": 8}
        if code in sizes:
            digits = text[i + 2 : i + 2 + sizes[code]]
            if len(digits) < sizes[code] or not all(c in "0123456789abcdefABCDEF" for c in digits):
                self.error("invalid char escape", i)
            number = int(digits, 16)
            if code == "x":
                out.append(number)
            elif number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
                self.error("invalid syntax", i)
            else:
                out += chr(number).encode("utf-8")
            return i + 2 + sizes[code]
        digits = text[i + 1 : i + 4]
        if len(digits) == 3 and all(c in "01234567" for c in digits) and int(digits, 8) < 256:
            out.append(int(digits, 8))
            return i + 4
        if i + 1 >= len(text):
            self.error("literal not terminated", i)
        self.error("invalid char escape", i)

    def raw_string(self, start: int) -> Token:
        end = self.text.find("`", start + 1)
        if end < 0:
            self.error("literal not terminated", start)
        self.pos = end + 1
        return Token(
            "string", self.text[start : end + 1], start, self.text[start + 1 : end].replace("\r", "")
        )

    def range(self, start: int) -> Token:
        end = self.text.find("]", start + 1)
        if end < 0:
            self.error("missing closing ']' in duration", start)
        body = self.text[start + 1 : end]
        ns = parse_prometheus_duration(body)
        if ns is None:
            self.error(f'not a valid duration string: "{body}"', start)
        self.pos = end + 1
        return Token("range", self.text[start : end + 1], start, ns)

    def number(self, start: int) -> Token:
        m = _NUMBER.match(self.text, start)
        assert m is not None  # scan() only calls this on a digit or ".<digit>"
        self.pos = m.end()
        text = m.group()
        suffix = self.run_of(_DURATION_RUNES)
        ns = parse_duration(text + suffix) if suffix else None
        if ns is not None:
            self.pos += len(suffix)
            return Token("duration", text + suffix, start, ns)
        suffix = self.run_of(_BYTES_RUNES)
        size = parse_bytes(text + suffix) if suffix else None
        if size is not None:
            self.pos += len(suffix)
            return Token("bytes", text + suffix, start, size)
        value = float(int(text, 16)) if text[:2].lower() == "0x" else float(text)
        if not math.isfinite(value):
            self.error("unable to parse literal as a float: value out of range", start)
        return Token("number", text, start, value)

    def run_of(self, runes: set[str]) -> str:
        end = self.pos
        while end < len(self.text) and self.text[end] in runes:
            end += 1
        return self.text[self.pos : end]

    def negative_duration(self, start: int) -> Token | None:
        m = _NUMBER.match(self.text, start + 1)
        if not m:
            return None
        self.pos = m.end()
        suffix = self.run_of(_DURATION_RUNES)
        ns = parse_go_duration("-" + m.group() + suffix) if suffix else None
        if ns is None:
            self.pos = start
            return None
        self.pos = m.end() + len(suffix)
        return Token("duration", self.text[start : self.pos], start, ns)

    def flag(self, start: int) -> Token | None:
        end = start + 2
        while end < len(self.text) and (self.text[end].isalpha() or self.text[end] == "-"):
            end += 1
        word = self.text[start:end]
        if word not in PARSER_FLAGS:
            return None
        self.pos = end
        return Token("flag", word, start, word)

    def ident(self, start: int) -> Token:
        end = start + 1
        while end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_"):
            end += 1
        self.pos = end
        return Token("ident", self.text[start:end], start)

    def operator(self, start: int, ch: str) -> Token:
        two = self.text[start : start + 2]
        if two in _OPS2:
            self.pos = start + 2
            return Token("op", two, start)
        if ch in _OPS1:
            self.pos = start + 1
            return Token("op", ch, start)
        self.error(f"syntax error: unexpected character {ch!r}", start)


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, col {col}"


# ---------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------


def parse_logql(text: str) -> LogQLQuery:
    """Parse and validate a LogQL query; raise `LogQLSyntaxError` (a `QuerySyntaxError`) if Loki would."""
    parser = _Parser(text)
    if parser.peek().kind == "eof":
        raise LogQLSyntaxError("parse error : syntax error: unexpected $end", 0)
    expr = parser.parse_expr(1)
    if parser.peek().kind != "eof":
        parser.unexpected(parser.peek())
    if parser.deferred:
        raise parser.deferred[0]
    return LogQLQuery(expr)


def _describe(tok: Token) -> str:
    """How Loki's grammar names a token in "unexpected ..." messages."""
    names = {
        "eof": "$end",
        "string": "STRING",
        "number": "NUMBER",
        "duration": "DURATION",
        "bytes": "BYTES",
        "range": "RANGE",
        "flag": "PARSER_FLAG",
    }
    if tok.kind in names:
        return names[tok.kind]
    if tok.kind == "ident":
        lowered = tok.text.lower()
        known = lowered in FUNCTIONS or lowered in STAGE_WORDS or lowered in _KEYWORDS
        return lowered if known else "IDENTIFIER"
    return tok.text


_KEYWORDS = frozenset(
    {
        "by",
        "without",
        "bool",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "and",
        "or",
        "unless",
        "unwrap",
        "ip",
        *CONVERSIONS,
    }
)


@dataclass
class _RangeParts:
    """The pieces of a range aggregation's argument, gathered in whichever order they were written."""

    log: LogExpr
    unwrap: Unwrap | None = None
    range_ns: int | None = None
    offset_ns: int = 0


class _Parser:
    """Recursive descent over the token list; semantic errors are deferred until the syntax is known good."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _Lexer(text).tokens()
        self.index = 0
        self.depth = 0
        self.deferred: list[LogQLSyntaxError] = []

    # -- token helpers --------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return tok

    def at_op(self, *ops: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "op" and tok.text in ops

    def at_word(self, *words: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "ident" and tok.text.lower() in words

    def expect_op(self, op: str, expecting: str | None = None) -> Token:
        if not self.at_op(op):
            self.unexpected(self.peek(), expecting or op)
        return self.next()

    def expect_kind(self, kind: str, expecting: str) -> Token:
        if self.peek().kind != kind:
            self.unexpected(self.peek(), expecting)
        return self.next()

    def unexpected(self, tok: Token, expecting: str | None = None, hint: str | None = None) -> NoReturn:
        message = f"syntax error: unexpected {_describe(tok)}"
        if expecting:
            message += f", expecting {expecting}"
        if hint:
            message += f" ({hint})"
        self.fail(tok.pos, message)

    def fail(self, pos: int, message: str) -> NoReturn:
        raise LogQLSyntaxError(f"parse error at {_line_col(self.text, pos)}: {message}", pos)

    def defer(self, pos: int, message: str) -> None:
        """Record a semantic error (Loki reports these without a line and column)."""
        self.deferred.append(LogQLSyntaxError(f"parse error : {message}", pos))

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(tok.pos, "syntax error: expression nested too deeply")

    # -- expressions ----------------------------------------------------------------------------

    def parse_expr(self, min_prec: int) -> Expr:
        """Binary operators by precedence climbing (``^`` is right-associative)."""
        self.enter(self.peek())
        left = self.parse_unary()
        while True:
            tok = self.peek()
            op = self.binary_op(tok)
            if op is None or PRECEDENCE[op] < min_prec:
                break
            self.next()
            return_bool, matching = self.parse_modifiers(op)
            right_start = self.peek()
            right = self.parse_expr(PRECEDENCE[op] if op == "^" else PRECEDENCE[op] + 1)
            left = self.binary(op, tok, left, right, right_start, return_bool, matching)
        self.depth -= 1
        return left

    def binary_op(self, tok: Token) -> str | None:
        if tok.kind == "op" and tok.text in PRECEDENCE:
            return tok.text
        if tok.kind == "ident" and tok.text.lower() in ("and", "or", "unless"):
            return tok.text.lower()
        return None

    def parse_modifiers(self, op: str) -> tuple[bool, VectorMatching | None]:
        """`bool`, then `on (...)`/`ignoring (...)` with an optional `group_left`/`group_right`."""
        return_bool = False
        if self.at_word("bool"):
            bool_tok = self.next()
            return_bool = True
            if op not in COMPARISON_OPS:
                self.defer(bool_tok.pos, "bool modifier can only be used on comparison operators")
        if not self.at_word("on", "ignoring"):
            return return_bool, None
        on = self.next().text.lower() == "on"
        labels = self.parse_label_list()
        group: Literal["left", "right"] | None = None
        include: tuple[str, ...] = ()
        if self.at_word("group_left", "group_right"):
            group = "left" if self.next().text.lower() == "group_left" else "right"
            if self.at_op("("):
                include = self.parse_label_list()
        return return_bool, VectorMatching(on, labels, group, include)

    def binary(
        self,
        op: str,
        op_tok: Token,
        left: Expr,
        right: Expr,
        right_tok: Token,
        return_bool: bool,
        matching: VectorMatching | None,
    ) -> BinaryOp:
        hint = "a log query cannot be an operand; count its lines with count_over_time({...}[5m])"
        if isinstance(left, LogExpr):
            self.unexpected(op_tok, hint=hint)
        if isinstance(right, LogExpr):
            self.fail(right_tok.pos, f"syntax error: unexpected log query after {op} ({hint})")
        if op in ("and", "or", "unless"):
            for side, value in (("left", left), ("right", right)):
                if isinstance(value, NumberLiteral):
                    self.defer(
                        op_tok.pos,
                        f"unexpected literal for {side} leg of logical/set binary operation ({op}): "
                        f"{value.value:f}",
                    )
        return BinaryOp(op, left, right, return_bool, matching)

    def parse_unary(self) -> Expr:
        """A signed number literal, or a primary expression."""
        if self.at_op("-", "+") and self.peek(1).kind == "number":
            sign = -1.0 if self.next().text == "-" else 1.0
            return NumberLiteral(sign * self.next().value)
        return self.parse_primary()

    def parse_primary(self) -> Expr:
        """A selector, a parenthesised expression, a number or a function call."""
        tok = self.peek()
        if self.at_op("{"):
            return self.parse_log_query()
        if self.at_op("("):
            self.next()
            inner = self.parse_expr(1)
            self.expect_op(")")
            return inner
        if tok.kind == "number":
            self.next()
            return NumberLiteral(tok.value)
        if tok.kind == "ident":
            return self.parse_function(tok)
        self.unexpected(tok, hint='a query starts with a stream selector like {app="x"} or a function')

    def parse_function(self, tok: Token) -> Expr:
        """A function call; names are case-insensitive and only functions when called."""
        name = tok.text.lower()
        calls = self.at_op("(", ahead=1)
        if name in RANGE_OPS and calls:
            return self.parse_range_aggregation()
        if name in VECTOR_OPS and (calls or self.at_word("by", "without", ahead=1)):
            return self.parse_vector_aggregation()
        if name == "vector" and calls:
            return self.parse_vector()
        if name == "label_replace" and calls:
            return self.parse_label_replace()
        if calls:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f"unknown function {tok.text}" + (f"; did you mean {close[0]}?" if close else "")
            self.unexpected(tok, hint=hint)
        self.unexpected(tok, hint='a query starts with a stream selector like {app="x"} or a function')

    def parse_vector(self) -> VectorLiteral:
        self.next()
        self.expect_op("(")
        value = self.expect_kind("number", "NUMBER").value
        self.expect_op(")")
        return VectorLiteral(value)

    def parse_label_replace(self) -> LabelReplace:
        start = self.next()
        self.expect_op("(")
        expr = self.metric(self.parse_expr(1), self.peek())
        args = []
        for _ in range(4):
            self.expect_op(",")
            args.append(self.expect_kind("string", "STRING").value)
        self.expect_op(")")
        try:
            compile_go_regex(f"^(?:{args[3]})$")
        except GoRegexError as exc:
            self.defer(start.pos, f"invalid regex in label_replace: error parsing regexp: {exc}")
        return LabelReplace(expr, *args)

    def metric(self, expr: Expr, after: Token) -> "MetricExpr":
        """Reject a log query where a metric query is needed."""
        if isinstance(expr, LogExpr):
            self.unexpected(
                after,
                hint="a log query needs a range aggregation here, e.g. count_over_time({...}[5m])",
            )
        return expr

    def parse_vector_aggregation(self) -> VectorAggregation:
        """`op [grouping] ([param,] expr) [grouping]`."""
        op_tok = self.next()
        op = op_tok.text.lower()
        grouping = self.parse_grouping() if self.at_word("by", "without") else None
        self.expect_op("(")
        param_text = None
        if self.peek().kind == "number" and self.at_op(",", ahead=1):
            param_text = self.next().text
            self.next()
        inner = self.metric(self.parse_expr(1), self.peek())
        self.expect_op(")")
        if grouping is None and self.at_word("by", "without"):
            grouping = self.parse_grouping()
        return VectorAggregation(op, inner, self.vector_param(op, param_text, op_tok), grouping)

    def vector_param(self, op: str, text: str | None, op_tok: Token) -> int | None:
        if op not in ("topk", "bottomk"):
            if text is not None:
                self.defer(op_tok.pos, f"unsupported parameter for operation {op}({text},")
            return None
        if text is None:
            self.defer(op_tok.pos, f"parameter required for operation {op}")
            return None
        if not text.isdigit():
            self.defer(op_tok.pos, f"invalid parameter {op}({text},")
            return None
        if int(text) <= 0:
            self.defer(op_tok.pos, f"invalid parameter (must be greater than 0) {op}({text}")
        return int(text)

    def parse_grouping(self) -> Grouping:
        without = self.next().text.lower() == "without"
        return Grouping(self.parse_label_list(), without)

    def parse_label_list(self) -> tuple[str, ...]:
        self.expect_op("(")
        labels: list[str] = []
        while not self.at_op(")"):
            if labels:
                self.expect_op(",", ") or ,")
            labels.append(self.expect_kind("ident", "IDENTIFIER").text)
        self.next()
        return tuple(labels)

    # -- range aggregations ---------------------------------------------------------------------

    def parse_range_aggregation(self) -> RangeAggregation:
        """`op([param,] log-range) [grouping]`."""
        op_tok = self.next()
        op = op_tok.text.lower()
        self.expect_op("(")
        param = None
        if self.peek().kind == "number":
            param = self.next().value
            self.expect_op(",")
        parts = self.parse_log_range(op)
        self.expect_op(")")
        grouping = self.parse_grouping() if self.at_word("by", "without") else None
        assert parts.range_ns is not None
        log_range = LogRange(parts.log, parts.range_ns, parts.offset_ns, parts.unwrap)
        self.validate_range_aggregation(op, op_tok, param, grouping, log_range)
        return RangeAggregation(op, log_range, param, grouping)

    def validate_range_aggregation(
        self, op: str, tok: Token, param: float | None, grouping: Grouping | None, log_range: LogRange
    ) -> None:
        """Loki's rules on parameters, grouping and unwrap, with Loki's messages."""
        if param is not None and op != "quantile_over_time":
            self.defer(tok.pos, f"parameter {_format_number(param)} not supported for operation {op}")
        elif param is None and op == "quantile_over_time":
            self.defer(tok.pos, f"parameter required for operation {op}")
        elif grouping is not None and op not in RANGE_GROUPING_ALLOWED:
            self.defer(tok.pos, f"grouping not allowed for {op} aggregation")
        elif log_range.unwrap is not None and op not in UNWRAP_ALLOWED:
            self.defer(tok.pos, f"invalid aggregation {op} with unwrap")
        elif log_range.unwrap is None and op in UNWRAP_REQUIRED:
            self.defer(
                tok.pos, f"invalid aggregation {op} without unwrap (add | unwrap <label> before the range)"
            )

    def parse_log_range(self, op: str, require_range: bool = True) -> _RangeParts:
        """The argument of a range aggregation, in any of the orders Loki's grammar allows."""
        if self.at_op("("):
            self.enter(self.next())
            parts = self.parse_log_range(op, require_range=False)
            self.expect_op(")")
            self.depth -= 1
            if parts.range_ns is None and require_range:
                self.require_range(parts, op)
            return parts
        if not self.at_op("{"):
            hint = f'{op} takes a log query with a range, e.g. {op}({{app="x"}}[5m])'
            self.unexpected(self.peek(), "{", hint=hint)
        selector = self.parse_selector()
        stages, unwrap = self.parse_pipeline(allow_unwrap=True)
        parts = _RangeParts(LogExpr(selector, stages), unwrap)
        if self.peek().kind == "range":
            self.take_range(parts)
            if not stages and unwrap is None:
                stages, parts.unwrap = self.parse_pipeline(allow_unwrap=True)
                parts.log = LogExpr(selector, stages)
        elif require_range:
            self.require_range(parts, op)
        return parts

    def require_range(self, parts: _RangeParts, op: str) -> None:
        if self.peek().kind != "range":
            hint = f'{op} needs a range after the log query, e.g. {op}({{app="x"}}[5m])'
            self.unexpected(self.peek(), "[" if parts.unwrap else "[ or |", hint=hint)
        self.take_range(parts)

    def take_range(self, parts: _RangeParts) -> None:
        parts.range_ns = self.next().value
        if self.at_word("offset"):
            self.next()
            parts.offset_ns = self.expect_kind("duration", "DURATION").value

    # -- log queries ----------------------------------------------------------------------------

    def parse_log_query(self) -> LogExpr:
        """A log query where a whole expression is expected: no range, no unwrap."""
        selector = self.parse_selector()
        stages, _ = self.parse_pipeline(allow_unwrap=False)
        if self.peek().kind == "range":
            self.unexpected(
                self.peek(),
                hint="a range needs a range aggregation around it, e.g. count_over_time({...}[5m])",
            )
        return LogExpr(selector, stages)

    def parse_selector(self) -> StreamSelector:
        """`{name op "value", ...}`, requiring one matcher that rejects empty values."""
        open_tok = self.expect_op("{")
        matchers: list[Matcher] = []
        while not self.at_op("}"):
            if matchers:
                self.expect_op(",", "} or ,")
            matchers.append(self.parse_matcher())
        self.next()
        if not any(not self.matches_empty(m) for m in matchers):
            self.defer(open_tok.pos, EMPTY_COMPATIBLE)
        return StreamSelector(tuple(matchers))

    def parse_matcher(self) -> Matcher:
        tok = self.expect_kind("ident", "IDENTIFIER")
        if not self.at_op(*MATCH_OPS):
            self.unexpected(self.peek(), "= or != or =~ or !~")
        op = self.next().text
        value = self.expect_kind("string", "STRING").value
        matcher = Matcher(tok.text, op, value)
        if op in ("=~", "!~"):
            self.check_regex(value, tok.pos)
        return matcher

    def check_regex(self, pattern: str, pos: int, stage: str | None = None) -> re.Pattern[str] | None:
        try:
            return compile_go_regex(pattern)
        except GoRegexError as exc:
            prefix = f"stage '{stage}' : " if stage else ""
            self.defer(pos, f"{prefix}error parsing regexp: {exc}")
            return None

    @staticmethod
    def matches_empty(m: Matcher) -> bool:
        """Whether the matcher accepts an empty (absent) label value, as Prometheus defines it."""
        if m.op in ("=", "!="):
            return (m.value == "") == (m.op == "=")
        try:
            compiled = compile_go_regex(m.value)
        except GoRegexError:
            return False
        if compiled is None:
            return m.op == "!~"
        return (compiled.fullmatch("") is not None) == (m.op == "=~")

    def parse_pipeline(self, allow_unwrap: bool) -> tuple[tuple[Stage, ...], Unwrap | None]:
        """Line filters and `| stage`s; an unwrap ends the pipeline."""
        stages: list[Stage] = []
        while True:
            if self.at_op(*LINE_FILTER_OPS):
                stages.append(self.parse_line_filter())
            elif (
                self.at_op("|")
                and self.at_word("unwrap", ahead=1)
                and not self.at_op(*LABEL_FILTER_OPS, ahead=2)
            ):
                if not allow_unwrap:
                    self.fail(
                        self.peek(1).pos,
                        "syntax error: unexpected unwrap (unwrap only works inside a range aggregation, "
                        'e.g. sum_over_time({app="x"} | logfmt | unwrap duration [5m]))',
                    )
                return tuple(stages), self.parse_unwrap()
            elif self.at_op("|"):
                self.next()
                stages.append(self.parse_stage())
            else:
                return tuple(stages), None

    def parse_line_filter(self) -> LineFilter:
        """`op "value" [or "value" ...]` or `op ip("cidr")`."""
        op_tok = self.next()
        if self.at_word("ip") and self.at_op("(", ahead=1):
            return LineFilter(op_tok.text, (self.parse_ip_call(),), ip=True)
        values = [self.expect_kind("string", "STRING or ip").value]
        while self.at_word("or") and self.peek(1).kind == "string":
            self.next()
            values.append(self.next().value)
        line_filter = LineFilter(op_tok.text, tuple(values))
        if op_tok.text in ("|~", "!~"):
            for value in values:
                self.check_regex(value, op_tok.pos, stage=f"{op_tok.text} {escape_logql_string(value)}")
        return line_filter

    def parse_ip_call(self) -> str:
        self.next()
        self.expect_op("(")
        value = self.expect_kind("string", "STRING").value
        self.expect_op(")")
        return str(value)

    def parse_stage(self) -> Stage:
        """The stage after a `|`: a keyword stage, else a label filter."""
        tok = self.peek()
        word = tok.text.lower() if tok.kind == "ident" else ""
        if word in STAGE_WORDS and not self.at_op(*LABEL_FILTER_OPS, ahead=1):
            self.next()
            return self.stage_parsers()[word](tok)
        if tok.kind == "ident" or self.at_op("("):
            return LabelFilterStage(self.parse_label_filter())
        self.unexpected(
            tok,
            hint="after | comes a parser (json, logfmt, regexp, pattern, unpack), a label filter, "
            "line_format, label_format, drop, keep, decolorize or unwrap",
        )

    def stage_parsers(self) -> dict[str, Callable[[Token], Stage]]:
        return {
            "json": lambda tok: ParserStage("json", extractions=self.parse_extractions()),
            "logfmt": self.parse_logfmt,
            "regexp": self.parse_regexp,
            "pattern": self.parse_pattern,
            "unpack": lambda tok: ParserStage("unpack"),
            "line_format": lambda tok: LineFormat(self.expect_kind("string", "STRING").value),
            "label_format": self.parse_label_format,
            "drop": lambda tok: DropLabels(self.parse_label_refs()),
            "keep": lambda tok: KeepLabels(self.parse_label_refs()),
            "decolorize": lambda tok: Decolorize(),
        }

    def parse_logfmt(self, tok: Token) -> ParserStage:
        flags: list[str] = []
        while self.peek().kind == "flag":
            flags.append(self.next().text)
        return ParserStage("logfmt", flags=tuple(flags), extractions=self.parse_extractions())

    def parse_extractions(self) -> tuple[LabelExtraction, ...]:
        items: list[LabelExtraction] = []
        while self.peek().kind == "ident":
            name = self.next().text
            expression = None
            if self.at_op("="):
                self.next()
                expression = self.expect_kind("string", "STRING").value
            items.append(LabelExtraction(name, expression))
            if not self.at_op(","):
                break
            self.next()
            if self.peek().kind != "ident":
                self.unexpected(self.peek(), "IDENTIFIER")
        return tuple(items)

    def parse_regexp(self, tok: Token) -> ParserStage:
        value = self.expect_kind("string", "STRING").value
        compiled = self.check_regex(value, tok.pos, stage=f"| regexp {escape_logql_string(value)}")
        if compiled is not None and not compiled.groupindex:
            self.defer(tok.pos, "at least one named capture must be supplied")
        return ParserStage("regexp", argument=value)

    def parse_pattern(self, tok: Token) -> ParserStage:
        value = self.expect_kind("string", "STRING").value
        if not re.search(r"<[A-Za-z_][A-Za-z0-9_]*>", value.replace("<_>", "")):
            self.defer(tok.pos, "at least one capture is required")
        return ParserStage("pattern", argument=value)

    def parse_label_format(self, tok: Token) -> LabelFormat:
        items: list[LabelFormatItem] = []
        while True:
            target = self.expect_kind("ident", "IDENTIFIER")
            self.expect_op("=")
            source = self.next()
            if source.kind not in ("ident", "string"):
                self.unexpected(source, "IDENTIFIER or STRING")
            if any(i.target == target.text for i in items):
                self.defer(target.pos, f"multiple label name '{target.text}' in label_format")
            items.append(
                LabelFormatItem(
                    target.text,
                    source.value if source.kind == "string" else source.text,
                    template=source.kind == "string",
                )
            )
            if not self.at_op(","):
                return LabelFormat(tuple(items))
            self.next()

    def parse_label_refs(self) -> tuple[str | Matcher, ...]:
        items: list[str | Matcher] = []
        while True:
            if self.at_op(*MATCH_OPS, ahead=1):
                items.append(self.parse_matcher())
            else:
                items.append(self.expect_kind("ident", "IDENTIFIER").text)
            if not self.at_op(","):
                return tuple(items)
            self.next()

    def parse_unwrap(self) -> Unwrap:
        """`| unwrap [conversion(]label[)]` and the label filters after it."""
        self.next()
        self.next()
        tok = self.peek()
        conversion = None
        if self.at_word(*CONVERSIONS) and self.at_op("(", ahead=1):
            conversion = self.next().text.lower()
            self.next()
            label = self.expect_kind("ident", "IDENTIFIER").text
            self.expect_op(")")
        elif tok.kind == "ident":
            label = self.next().text
        else:
            self.unexpected(tok, "IDENTIFIER")
        filters: list[LabelFilterExpr] = []
        while self.at_op("|") and self.starts_label_filter(1):
            self.next()
            filters.append(self.parse_label_filter())
        if self.at_op("|", *LINE_FILTER_OPS):
            self.unexpected(
                self.peek(1) if self.at_op("|") else self.peek(),
                "[ or a label filter",
                hint="only label filters may follow unwrap",
            )
        return Unwrap(label, conversion, tuple(filters))

    # -- label filters --------------------------------------------------------------------------

    def starts_label_filter(self, ahead: int) -> bool:
        tok = self.peek(ahead)
        if tok.kind == "op":
            return tok.text == "("
        return tok.kind == "ident" and self.at_op(*LABEL_FILTER_OPS, ahead=ahead + 1)

    def parse_label_filter(self) -> LabelFilterExpr:
        """Label filters joined by `or` (lowest), `and`, `,` or juxtaposition."""
        self.enter(self.peek())
        left = self.parse_label_and()
        while self.at_word("or") and self.starts_label_filter(1):
            self.next()
            left = LogicalLabelFilter("or", left, self.parse_label_and())
        self.depth -= 1
        return left

    def parse_label_and(self) -> LabelFilterExpr:
        left = self.parse_label_primary()
        while True:
            if (self.at_word("and") or self.at_op(",")) and self.starts_label_filter(1):
                self.next()
            elif not self.starts_label_filter(0):
                return left
            left = LogicalLabelFilter("and", left, self.parse_label_primary())

    def parse_label_primary(self) -> LabelFilterExpr:
        if self.at_op("("):
            self.next()
            inner = self.parse_label_filter()
            self.expect_op(")")
            return inner
        name = self.expect_kind("ident", "IDENTIFIER")
        if not self.at_op(*LABEL_FILTER_OPS):
            self.unexpected(self.peek(), "a comparison operator (= != =~ !~ > >= < <= ==)")
        op = self.next().text
        return self.label_filter_value(name, op)

    def label_filter_value(self, name: Token, op: str) -> LabelFilterExpr:
        tok = self.peek()
        if tok.kind == "string" and op in MATCH_OPS:
            self.next()
            if op in ("=~", "!~"):
                self.check_regex(tok.value, name.pos)
            return LabelMatchFilter(Matcher(name.text, op, tok.value))
        if op in ("=", "!=") and self.at_word("ip") and self.at_op("(", ahead=1):
            return IpLabelFilter(name.text, op, self.parse_ip_call())
        if op not in ("=~", "!~"):
            if tok.kind in ("duration", "bytes"):
                self.next()
                return ComparisonFilter(name.text, op, tok.value, tok.kind)
            if tok.kind == "number" or (self.at_op("-", "+") and self.peek(1).kind == "number"):
                sign = -1.0 if self.at_op("-") else 1.0
                if tok.kind == "op":
                    self.next()
                return ComparisonFilter(name.text, op, sign * self.next().value, "number")
        expecting = "STRING" if op in ("=~", "!~") else "STRING or NUMBER or DURATION or BYTES"
        self.unexpected(tok, expecting)


# ---------------------------------------------------------------------------------------------
# Go (RE2) regular expressions, checked with Python's re
# ---------------------------------------------------------------------------------------------

_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_PERL_CLASSES = set("dDsSwW")
_ASSERTIONS = set("bBA")
_CONTROL_ESCAPES = set("aftnrv")
_REPEAT = re.compile(r"\{([0-9]+)(?:,([0-9]*))?\}")


class _Untranslatable(Exception):
    """Valid-looking Go syntax that Python's re cannot express (Unicode classes, the U flag)."""


@dataclass
class _Group:
    """An open group during translation, with inline flag groups still to close."""

    pending_flags: list[str]


class _RegexTranslator:
    """Rewrites Go regexp syntax into Python re syntax, raising Go's errors for what Go rejects."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.i = 0
        self.out: list[str] = []
        self.groups = [_Group([])]
        self.after_quantifier = False

    def translate(self) -> str:
        while self.i < len(self.pattern):
            self.step(self.pattern[self.i])
        if len(self.groups) > 1:
            raise GoRegexError(f"missing closing ): `{self.pattern}`")
        self.close_flags(self.groups[0])
        return "".join(self.out)

    def step(self, ch: str) -> None:
        was_quantifier, self.after_quantifier = self.after_quantifier, False
        if ch == "\\":
            self.out.append(self.escape(in_class=False))
        elif ch == "[":
            self.out.append(self.char_class())
        elif ch == "(":
            self.open_group()
        elif ch == ")":
            self.close_group()
        elif ch == "|":
            self.alternate()
        elif ch in "*+?" or (ch == "{" and _REPEAT.match(self.pattern, self.i)):
            self.quantifier(ch, was_quantifier)
        else:
            self.out.append(ch)
            self.i += 1

    def quantifier(self, ch: str, was_quantifier: bool) -> None:
        if ch == "{":
            m = _REPEAT.match(self.pattern, self.i)
            assert m is not None
            low, high = int(m.group(1)), m.group(2)
            if low > 1000 or (high and int(high) > 1000) or (high and int(high) < low):
                raise GoRegexError(f"invalid repeat count: `{m.group()}`")
            text = m.group()
        else:
            text = ch
        if was_quantifier and not (ch == "?" and self.pattern[self.i - 1] != "?"):
            raise GoRegexError(f"invalid nested repetition operator: `{self.pattern[self.i - 1]}{text}`")
        self.out.append(text)
        self.i += len(text)
        self.after_quantifier = not (ch == "?" and was_quantifier)

    def escape(self, in_class: bool) -> str:
        """Translate the escape at `self.i` (a backslash)."""
        p, i = self.pattern, self.i
        if i + 1 >= len(p):
            raise GoRegexError("trailing backslash at end of expression: ``")
        c = p[i + 1]
        self.i = i + 2
        if c in "01234567":
            return self.octal(c, i)
        if c == "x":
            return self.hex_escape(i)
        if c in "pP":
            raise _Untranslatable
        if not in_class and c == "Q":
            end = p.find("\\E", self.i)
            literal = p[self.i :] if end < 0 else p[self.i : end]
            self.i = len(p) if end < 0 else end + 2
            return re.escape(literal)
        if not in_class and c == "z":
            return "\\Z"
        if c in _PERL_CLASSES or c in _CONTROL_ESCAPES or (not in_class and c in _ASSERTIONS):
            return "\\" + c
        if ord(c) < 128 and not c.isalnum():
            return "\\" + c
        raise GoRegexError(f"invalid escape sequence: `\\{c}`")

    def octal(self, first: str, start: int) -> str:
        digits = first
        while len(digits) < 3 and self.i < len(self.pattern) and self.pattern[self.i] in "01234567":
            digits += self.pattern[self.i]
            self.i += 1
        if first != "0" and len(digits) == 1:
            raise GoRegexError(f"invalid escape sequence: `\\{first}`")
        return f"\\x{int(digits, 8):02x}"

    def hex_escape(self, start: int) -> str:
        p = self.pattern
        if p[self.i : self.i + 1] == "{":
            end = p.find("}", self.i)
            digits = p[self.i + 1 : end] if end > 0 else ""
            if end < 0 or not digits or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise GoRegexError(
                    f"invalid escape sequence: `{p[start : (end + 1) if end > 0 else len(p)]}`"
                )
            self.i = end + 1
            if int(digits, 16) > 0x10FFFF:
                raise GoRegexError(f"invalid escape sequence: `{p[start : end + 1]}`")
            return f"\\U{int(digits, 16):08x}"
        digits = p[self.i : self.i + 2]
        if len(digits) < 2 or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise GoRegexError(f"invalid escape sequence: `{p[start : self.i + 2]}`")
        self.i += 2
        return f"\\x{digits}"

    def char_class(self) -> str:
        """Translate `[...]` starting at `self.i`."""
        p, start = self.pattern, self.i
        self.i += 1
        out = ["["]
        if p[self.i : self.i + 1] == "^":
            out.append("^")
            self.i += 1
        first = True
        while True:
            if self.i >= len(p):
                raise GoRegexError(f"missing closing ]: `{p[start:]}`")
            c = p[self.i]
            if c == "]" and not first:
                self.i += 1
                out.append("]")
                return "".join(out)
            first = False
            out.append(self.class_item(c, start))

    def class_item(self, c: str, start: int) -> str:
        p = self.pattern
        if p.startswith("[:", self.i):
            end = p.find(":]", self.i + 2)
            name = p[self.i + 2 : end] if end > 0 else ""
            if name.startswith("^"):
                raise _Untranslatable
            if name in _POSIX_CLASSES:
                self.i = end + 2
                return _POSIX_CLASSES[name]
            if end > 0 and name.isalpha():
                raise GoRegexError(f"invalid character class range: `{p[self.i : end + 2]}`")
        if c == "\\":
            return self.escape(in_class=True)
        self.i += 1
        if c in "[&~|":
            return "\\" + c
        if (
            c == "-"
            and p[self.i : self.i + 1] not in ("]", "")
            and p[self.i - 2 : self.i - 1] not in ("[", "^")
        ):
            low, high = p[self.i - 2], p[self.i]
            if low > high and p[self.i] != "\\":
                raise GoRegexError(f"invalid character class range: `{low}-{high}`")
        return c

    def open_group(self) -> None:
        p, i = self.pattern, self.i
        if not p.startswith("(?", i):
            self.out.append("(")
            self.groups.append(_Group([]))
            self.i += 1
            return
        for prefix in ("(?P<", "(?<"):
            if p.startswith(prefix, i) and not p.startswith(("(?<=", "(?<!"), i):
                self.named_group(prefix)
                return
        m = re.compile(r"\(\?([a-zA-Z-]*)([:)])").match(p, i)
        if not m or (not m.group(1) and m.group(2) == ")"):
            raise GoRegexError(f"invalid or unsupported Perl syntax: `{p[i : i + 3]}`")
        flags = m.group(1)
        if any(f not in "imsU-" for f in flags) or flags.count("-") > 1 or flags.endswith("-"):
            raise GoRegexError(f"invalid or unsupported Perl syntax: `{m.group()}`")
        if "U" in flags:
            raise _Untranslatable
        self.i = m.end()
        if m.group(2) == ":":
            self.out.append(m.group() if flags else "(?:")
            self.groups.append(_Group([]))
        elif flags:
            # Go's (?i) lasts to the end of the enclosing group; Python 3.11 only takes it at the start.
            self.out.append(f"(?{flags}:")
            self.groups[-1].pending_flags.append(flags)

    def named_group(self, prefix: str) -> None:
        p = self.pattern
        end = p.find(">", self.i)
        name = p[self.i + len(prefix) : end] if end > 0 else ""
        if end < 0 or not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise GoRegexError(f"invalid named capture: `{p[self.i : end + 1 if end > 0 else len(p)]}`")
        self.out.append(f"(?P<{name}>")
        self.groups.append(_Group([]))
        self.i = end + 1

    def close_group(self) -> None:
        if len(self.groups) == 1:
            raise GoRegexError(f"unexpected ): `{self.pattern}`")
        self.close_flags(self.groups.pop())
        self.out.append(")")
        self.i += 1
        self.after_quantifier = False

    def close_flags(self, group: _Group) -> None:
        self.out.append(")" * len(group.pending_flags))

    def alternate(self) -> None:
        group = self.groups[-1]
        self.close_flags(group)
        self.out.append("|")
        self.out.extend(f"(?{flags}:" for flags in group.pending_flags)
        self.i += 1


_PYTHON_ERRORS = (
    ("missing ), unterminated subpattern", "missing closing )"),
    ("unbalanced parenthesis", "unexpected )"),
    ("nothing to repeat", "missing argument to repetition operator"),
    ("multiple repeat", "invalid nested repetition operator"),
    ("bad character range", "invalid character class range"),
    ("redefinition of group name", "duplicate capture group name"),
    ("bad escape", "invalid escape sequence"),
)


@functools.lru_cache(maxsize=512)
def compile_go_regex(pattern: str) -> re.Pattern[str] | None:
    """Compile a Go (RE2) regular expression with Python's re.

    Raises `GoRegexError` with Go's message (``missing closing ): `(x` ``) when Go would reject it;
    returns None for valid-looking syntax Python cannot check (``\\pL`` classes, the ``U`` flag)."""
    try:
        translated = _RegexTranslator(pattern).translate()
    except _Untranslatable:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(translated)
    except re.error as exc:
        raise GoRegexError(_go_message(exc, pattern)) from None


def _go_message(exc: re.error, pattern: str) -> str:
    for python, go in _PYTHON_ERRORS:
        if exc.msg.startswith(python):
            return f"{go}: `{pattern}`"
    return f"{exc.msg}: `{pattern}`"
