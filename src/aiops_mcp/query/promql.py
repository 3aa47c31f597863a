"""PromQL checked before it reaches Prometheus, and built safely from user-supplied values.

`validate_promql` parses an expression with promql-parser (full PromQL syntax, function names and
argument types) and returns what it references: metric names, label matchers per selector, the
largest range window, and the value type. A parse error becomes `QuerySyntaxError` quoting the
parser's message verbatim, with a 0-based position when it can be located, so a model can fix it.

Note that LogQL metric queries without pipelines (`count_over_time({app="x"}[5m])`) are valid
PromQL too: route by tool, not by parsing.

`selector` builds `metric{a="x",b="y"}` with escaped values and checked names, so a value can never
end the string early and inject query text.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

import promql_parser as pp

from aiops_mcp.query.errors import QueryInputError, QuerySyntaxError

ValueType = Literal["vector", "matrix", "scalar", "string"]
MatchOperator = Literal["=", "!=", "=~", "!~"]

MAX_EXPRESSION_LENGTH = 8192
"""Longer expressions are refused before parsing."""
MAX_NESTING = 64
"""Deepest nesting of (), [] and {} accepted."""
MAX_OPERATORS = 256
"""Most binary/unary operators accepted: the parser recurses per operator and a deep enough
chain overflows its native stack and kills the process, so this is checked before parsing."""

_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*", re.ASCII)
_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*", re.ASCII)
_OPERATOR_RE = re.compile(r"[-+*/%^]|[=!<>]=|[<>]|\b(?:and|or|unless|atan2)\b", re.ASCII)
# Regexes that match any value (or any non-empty one), with optional anchors and one group.
_MATCH_ALL_RE = re.compile(r"\^?(?:\((?:\?:)?)?\.[*+]\??\)?\$?", re.ASCII)
_OPS: dict[str, MatchOperator] = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


@dataclass(frozen=True)
class LabelMatcher:
    """One label matcher, e.g. `job=~"api|web"`: name, operator (=, !=, =~, !~) and raw value."""

    name: str
    op: MatchOperator
    value: str

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{escape_label_value(self.value)}"'


@dataclass(frozen=True)
class SelectorInfo:
    """One series selector. `metric` comes from the name or a `__name__="..."` matcher.
    `or_matchers` holds the alternatives of `x{a="1" or b="2"}` (then `matchers` is empty).
    `range_seconds` is set for a range selector `x[5m]`; `offset_seconds` for `offset 1h`."""

    metric: str | None
    matchers: tuple[LabelMatcher, ...]
    or_matchers: tuple[tuple[LabelMatcher, ...], ...] = ()
    range_seconds: float | None = None
    offset_seconds: float | None = None


@dataclass(frozen=True)
class PromQLInfo:
    """What a valid PromQL expression references and returns.

    `normalised` is the parser's rendering (`str(ast)`, e.g. `up` -> `up{}`), or the stripped input
    when that rendering would not parse back to the same expression (a known parser limitation for
    values with quotes or newlines, `or` matchers, and subqueries without a step).
    `max_range_seconds` is the largest range selector or subquery window. `value_type` is
    what the expression returns; "matrix" (a bare range selector or subquery) can only be evaluated
    as an instant query. `has_selector` is False for expressions such as `vector(1)` or `time()`.
    """

    normalised: str
    value_type: ValueType
    metric_names: tuple[str, ...]
    selectors: tuple[SelectorInfo, ...]
    max_range_seconds: float | None
    has_selector: bool

    @property
    def is_range_vector(self) -> bool:
        """True when the expression returns a range vector: instant queries only."""
        return self.value_type == "matrix"


def validate_promql(expr: str) -> PromQLInfo:
    """Parse a PromQL expression and describe it, or raise QuerySyntaxError (language "PromQL")
    with the parser's message and, when it can be located, the 0-based position of the problem.
    Empty expressions and ones too long or too deeply nested to parse safely are refused too."""
    _check_size(expr)
    ast = _parse(expr)
    return _describe(ast, _render(ast, expr))


def is_unselective(info: PromQLInfo) -> bool:
    """True when a selector matches every series: no metric name and only matchers that any value
    satisfies, like `{__name__=~".+"}`, `{job=~".*", instance!=""}` (or an `or` alternative like that)."""
    return any(_selects_everything(s) for s in info.selectors)


def escape_label_value(value: str) -> str:
    """Escape a label value for a double-quoted PromQL (or LogQL) string: backslash, double quote
    and newline. The parsed value then equals `value` exactly."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def selector(metric: str | None, labels: Mapping[str, str]) -> str:
    """Build a selector `metric{a="x",b="y"}` matching the labels exactly (values escaped).

    `metric` must match `[a-zA-Z_:][a-zA-Z0-9_:]*` (names that are PromQL keywords are written as
    `{__name__="..."}`) and label names `[a-zA-Z_][a-zA-Z0-9_]*`; otherwise QueryInputError. Without
    a metric, at least one label value must be non-empty (PromQL refuses selectors matching all).
    """
    if metric is not None and not _METRIC_NAME_RE.fullmatch(metric):
        raise QueryInputError(f"invalid metric name {metric!r}: use letters, digits, '_' and ':'")
    for name in labels:
        if not _LABEL_NAME_RE.fullmatch(name):
            raise QueryInputError(f"invalid label name {name!r}: use letters, digits and '_' (not first)")
    if metric is not None and "__name__" in labels:
        raise QueryInputError("give the metric name either as metric or as the __name__ label, not both")
    if metric is None and not any(labels.values()):
        raise QueryInputError("a selector needs a metric name or at least one non-empty label value")
    parts = [f'{name}="{escape_label_value(value)}"' for name, value in labels.items()]
    if metric is None:
        return "{" + ",".join(parts) + "}"
    text = metric + "{" + ",".join(parts) + "}"
    if _parses_as_metric(text, metric):
        return text
    return "{" + ",".join([f'__name__="{metric}"', *parts]) + "}"


# --- parsing and guards ---------------------------------------------------------------------------


def _check_size(expr: str) -> None:
    if not expr.strip():
        raise QuerySyntaxError(
            "PromQL", "the query is empty: give an expression such as up or rate(http_requests_total[5m])"
        )
    if len(expr) > MAX_EXPRESSION_LENGTH:
        raise QuerySyntaxError(
            "PromQL", f"the query is {len(expr):,} characters long; at most {MAX_EXPRESSION_LENGTH:,}"
        )
    scan = _scan(expr)
    if scan.max_depth > MAX_NESTING:
        raise QuerySyntaxError("PromQL", f"the query nests brackets deeper than {MAX_NESTING} levels")
    operators = len(_OPERATOR_RE.findall(scan.masked))
    if operators > MAX_OPERATORS:
        raise QuerySyntaxError("PromQL", f"the query has {operators} operators; at most {MAX_OPERATORS}")


def _parse(expr: str) -> pp.Expr:
    try:
        return pp.parse(expr)
    except ValueError as exc:
        message = str(exc)
        raise QuerySyntaxError("PromQL", message, _error_position(expr, message)) from exc
    except RecursionError as exc:
        raise QuerySyntaxError("PromQL", "the query is nested too deeply") from exc


def _render(ast: pp.Expr, expr: str) -> str:
    """str(ast) when it parses back to the same expression, else the input as given."""
    rendered = str(ast)
    try:
        again = pp.parse(rendered)
    except ValueError:
        return expr.strip()
    same = _shape(again) == _shape(ast) and _describe(again, "") == _describe(ast, "")
    return rendered if same else expr.strip()


def _shape(ast: pp.Expr) -> list[str]:
    names: list[str] = []
    _walk(ast, lambda node: names.append(type(node).__name__))
    return names


def _walk(ast: pp.Expr, visit: Callable[[pp.Expr], None]) -> None:
    """Depth-first pre-order, like `pp.walk` but linear: promql-parser copies a subtree on each
    attribute read, and its own walk is superlinear (0.15 s for 100 operators, 5 s for 256)."""
    stack = [ast]
    while stack:
        node = stack.pop()
        visit(node)
        stack.extend(reversed(_children(node)))


def _children(node: pp.Expr) -> list[pp.Expr]:
    if isinstance(node, pp.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return [node.expr]
    if isinstance(node, pp.AggregateExpr):
        return [child for child in (node.param, node.expr) if child is not None]
    if isinstance(node, pp.Call):
        return list(node.args)
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    return []


def _parses_as_metric(text: str, metric: str) -> bool:
    try:
        node = pp.parse(text)
    except ValueError:
        return False
    return isinstance(node, pp.VectorSelector) and node.name == metric


# --- describing the AST -----------------------------------------------------------------------------


@dataclass
class _Collector:
    selectors: list[SelectorInfo] = field(default_factory=list)
    windows: list[float] = field(default_factory=list)
    pending_range: float | None = None

    def visit(self, node: pp.Expr) -> None:
        # walk() is depth-first pre-order: a MatrixSelector's own VectorSelector comes right after it.
        if isinstance(node, pp.MatrixSelector):
            self.pending_range = node.range.total_seconds()
            self.windows.append(self.pending_range)
        elif isinstance(node, pp.SubqueryExpr) and node.range is not None:
            self.windows.append(node.range.total_seconds())
        elif isinstance(node, pp.VectorSelector):
            self.selectors.append(_selector_info(node, self.pending_range))
            self.pending_range = None


def _describe(ast: pp.Expr, normalised: str) -> PromQLInfo:
    collector = _Collector()
    _walk(ast, collector.visit)
    names = dict.fromkeys(s.metric for s in collector.selectors if s.metric is not None)
    return PromQLInfo(
        normalised=normalised,
        value_type=_value_type(ast),
        metric_names=tuple(names),
        selectors=tuple(collector.selectors),
        max_range_seconds=max(collector.windows, default=None),
        has_selector=bool(collector.selectors),
    )


def _selector_info(node: pp.VectorSelector, range_seconds: float | None) -> SelectorInfo:
    matchers = tuple(_matcher(m) for m in node.matchers.matchers)
    alternatives = tuple(tuple(_matcher(m) for m in group) for group in node.matchers.or_matchers)
    metric = node.name or next((m.value for m in matchers if m.name == "__name__" and m.op == "="), None)
    return SelectorInfo(
        metric=metric,
        matchers=matchers,
        or_matchers=alternatives,
        range_seconds=range_seconds,
        offset_seconds=_seconds(node.offset),
    )


def _matcher(matcher: pp.Matcher) -> LabelMatcher:
    op = _OPS[str(matcher.op).rsplit(".", 1)[-1]]
    return LabelMatcher(matcher.name, op, matcher.value)


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _value_type(node: pp.Expr) -> ValueType:
    if isinstance(node, pp.MatrixSelector | pp.SubqueryExpr):
        return "matrix"
    if isinstance(node, pp.NumberLiteral):
        return "scalar"
    if isinstance(node, pp.StringLiteral):
        return "string"
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr):
        return _value_type(node.expr)
    if isinstance(node, pp.Call):
        return _function_type(node.func.return_type)
    if isinstance(node, pp.BinaryExpr):
        both_scalar = _value_type(node.lhs) == "scalar" and _value_type(node.rhs) == "scalar"
        return "scalar" if both_scalar else "vector"
    return "vector"  # VectorSelector, AggregateExpr


def _function_type(value_type: pp.ValueType) -> ValueType:
    for candidate, name in (
        (pp.ValueType.Scalar, "scalar"),
        (pp.ValueType.Matrix, "matrix"),
        (pp.ValueType.String, "string"),
    ):
        if value_type == candidate:
            return name  # type: ignore[return-value]
    return "vector"


def _selects_everything(info: SelectorInfo) -> bool:
    if info.metric is not None:
        return False
    groups = info.or_matchers or (info.matchers,)
    return any(all(_matches_anything(m) for m in group) for group in groups)


def _matches_anything(matcher: LabelMatcher) -> bool:
    """Whether every series that has (or may lack) this label passes the matcher."""
    if matcher.op == "=~":
        return bool(_MATCH_ALL_RE.fullmatch(matcher.value))
    return matcher.op in ("!=", "!~") and matcher.value == ""


# --- locating parse errors --------------------------------------------------------------------------


@dataclass
class _Scan:
    """The expression with string contents and comments blanked, and bracket bookkeeping."""

    masked: str
    context: list[str]  # innermost open bracket at each offset ("" at top level)
    max_depth: int = 0
    unterminated: int | None = None
    stray: list[int] = field(default_factory=list)  # closers without an opener
    unclosed: list[int] = field(default_factory=list)  # openers never closed


_PAIRS = {")": "(", "]": "[", "}": "{"}


def _scan(expr: str) -> _Scan:
    masked, context = list(expr), [""] * len(expr)
    stack: list[tuple[str, int]] = []
    scan = _Scan("", context)
    i = 0
    while i < len(expr):
        char = expr[i]
        context[i] = stack[-1][0] if stack else ""
        if char in "\"'`":
            end = _string_end(expr, i)
            if end is None:
                scan.unterminated = i
                end = len(expr) - 1
            masked[i + 1 : end] = " " * max(0, end - i - 1)
            i = end + 1
            continue
        if char == "#":
            end = expr.find("\n", i)
            end = len(expr) if end < 0 else end
            masked[i:end] = " " * (end - i)
            i = end
            continue
        _track_bracket(char, i, stack, scan)
        i += 1
    scan.masked = "".join(masked)
    scan.unclosed = [pos for _, pos in stack]
    return scan


def _track_bracket(char: str, pos: int, stack: list[tuple[str, int]], scan: _Scan) -> None:
    if char in "([{":
        stack.append((char, pos))
        scan.max_depth = max(scan.max_depth, len(stack))
    elif char in _PAIRS:
        if stack and stack[-1][0] == _PAIRS[char]:
            stack.pop()
        else:
            scan.stray.append(pos)


def _string_end(expr: str, start: int) -> int | None:
    quote, i = expr[start], start + 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i
        if expr[i] == "\n" and quote != "`":
            return None
        i += 1
    return None


_CONTEXTS = {"inside braces": "{", "inside brackets": "["}
_BRACKET_WORDS = {"parenthesis": "()", "bracket": "[]", "brace": "{}"}


def _error_position(expr: str, message: str) -> int | None:
    """Best-effort 0-based offset of what the parser's message complains about; None if unsure."""
    scan = _scan(expr)
    if message.startswith("unterminated quoted string"):
        return scan.unterminated
    if message.startswith("unexpected end of input"):
        return len(expr.rstrip())
    if match := re.match(r"unexpected right (parenthesis|bracket|brace)", message):
        closer = _BRACKET_WORDS[match[1]][1]
        return next((p for p in scan.stray if expr[p] == closer), None)
    if match := re.match(r"unclosed left (parenthesis|bracket|brace)", message):
        opener = _BRACKET_WORDS[match[1]][0]
        return next((p for p in reversed(scan.unclosed) if expr[p] == opener), None)
    if match := re.match(r"unexpected character(?: after '(.)')?( inside \w+)?: '(.)'", message):
        context = _CONTEXTS.get((match[2] or "").strip())
        return _first_in_context(scan, (match[1] or "") + match[3], context)
    if match := re.match(r"unexpected (?:identifier )?'(.+?)' in label matching, expected (\w+)", message):
        # A value is expected after an operator, a name after '{' or ','.
        before = r"(?:=~|!~|!=|=)" if match[2] == "string" else r"[{,]"
        return _first_match_in_braces(scan, rf"{before}\s*({re.escape(match[1])})")
    if match := re.match(r"unknown escape sequence '(.)'", message):
        found = expr.find("\\" + match[1])
        return found if found >= 0 else None
    return _unique_position(scan.masked, message)


def _unique_position(masked: str, message: str) -> int | None:
    """For messages naming a token (duration, function), its offset if it occurs exactly once."""
    if match := re.search(r"(?:bad number or duration syntax|not a valid duration string): (\S+)", message):
        pattern = re.escape(match[1])
    elif match := re.search(r"(?:unknown function with name|call to function) '(\w+)'", message):
        pattern = rf"\b{re.escape(match[1])}\s*\("
    else:
        return None
    found = [m.start() for m in re.finditer(pattern, masked)]
    return found[0] if len(found) == 1 else None


def _first_match_in_braces(scan: _Scan, pattern: str) -> int | None:
    for found in re.finditer(pattern, scan.masked):
        if scan.context[found.start(1)] == "{":
            return found.start(1)
    return None


def _first_in_context(scan: _Scan, needle: str, context: str | None) -> int | None:
    start = 0
    while (found := scan.masked.find(needle, start)) >= 0:
        inner = scan.context[found]
        if (context is None and inner not in ("{", "[")) or inner == context:
            return found
        start = found + 1
    return None
