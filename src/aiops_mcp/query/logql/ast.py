"""The LogQL syntax tree: immutable nodes whose `str()` is their canonical LogQL text.

A log query is a `StreamSelector` and a pipeline of `Stage`s (`LogExpr`); a metric query
(`MetricExpr`) aggregates log queries over range windows (`RangeAggregation`), then vectors
(`VectorAggregation`), and combines them with operators (`BinaryOp`). Canonical text parses back to
an equal tree; `walk` visits every node."""

from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from typing import ClassVar, Literal

from aiops_mcp.query.logql.grammar import PRECEDENCE
from aiops_mcp.query.logql.literals import escape_logql_string, format_bytes, format_duration, format_number


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
            shown = format_bytes(int(self.value))
        else:
            shown = format_number(self.value)
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
class _LabelList:
    """The labels named by ``drop`` or ``keep``."""

    word: ClassVar[str]
    items: tuple[str | Matcher, ...]

    def __str__(self) -> str:
        return f"| {self.word} " + ", ".join(str(i) for i in self.items)


@dataclass(frozen=True)
class DropLabels(_LabelList):
    """`| drop a, b="c"`: removes labels (a matcher removes the label only when it matches)."""

    word = "drop"


@dataclass(frozen=True)
class KeepLabels(_LabelList):
    """`| keep a, b="c"`: keeps only these labels."""

    word = "keep"


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
        param = f"{format_number(self.param)}, " if self.param is not None else ""
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
        return format_number(self.value)


@dataclass(frozen=True)
class VectorLiteral:
    """`vector(1)`: a label-less series with a constant value."""

    value: float

    def __str__(self) -> str:
        return f"vector({format_number(self.value)})"


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
