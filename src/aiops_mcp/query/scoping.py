"""Queries confined to a scope: required label matchers in every selector a query reads.

A token scoped to `namespace="payments"` only ever sees that namespace. `enforce_promql` adds the
required matchers to every vector and range selector of a PromQL expression, through the syntax
tree (inside functions, aggregations, subqueries, both sides of every operator, every alternative
of `x{a="1" or b="2"}`); `enforce_logql` does the same for every LogQL stream selector;
`enforce_series_selectors` and `enforce_stream_selectors` confine the `match[]` of discovery calls;
`allowed_labels` and `allowed_label_value` filter what discovery calls return.

Conflicts are ANDed, never rejected: a selector keeps its own matchers and gets the required ones
too, unless an identical one is already there. `x{namespace="other"}` becomes
`x{namespace="other", namespace="payments"}`, which selects nothing; `{namespace=~".*"}` selects
only payments. A query can therefore narrow its scope but never widen it, and enforcing twice
gives the same text as enforcing once.

Expressions that read no data (`vector(1)`, `time()`, numbers, strings) are left unchanged:
`up or vector(1)` may return a label-less constant series, which carries nothing from outside the
scope. For the same reason query results are not filtered by label (aggregations drop labels
too): only discovery answers are.

Values are written escaped (Go string syntax), so quotes, braces, backslashes or `or vector(1)`
inside a value stay one value. The text returned is written here from the tree, because
promql-parser's `str()` loses escapes, `or` matchers and subquery steps; it is parsed again and
must write back to the same text, else the query is refused (`QueryInputError`) rather than run
differently. (The tests compare the trees themselves, by the parser's complete debug dump: too
slow for every request, as walking or dumping a deep tree in promql-parser is quadratic.)
"""

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import promql_parser as pp

from aiops_mcp.query.errors import QueryInputError, QuerySyntaxError
from aiops_mcp.query.logql import LogExpr, LogQLSyntaxError, StreamSelector, compile_go_regex, parse_logql
from aiops_mcp.query.logql import Matcher as StreamMatcher
from aiops_mcp.query.logql.build import _transform as transform_logql
from aiops_mcp.query.logql.literals import escape_logql_string, format_duration
from aiops_mcp.query.promql import LabelMatcher, MatchOperator
from aiops_mcp.query.promql import _check_size as check_promql_size
from aiops_mcp.query.promql import _parse as parse_promql

Scope = Sequence[LabelMatcher]
"""The matchers every selector must carry, all of them (ANDed)."""

_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*", re.ASCII)
_MAX_AT_SECONDS = 253402300799.999  # 9999-12-31T23:59:59.999Z


def enforce_promql(expr: str, required: Scope) -> str:
    """`expr` with the required matchers in every selector, as the text to execute and show.

    The guards of `validate_promql` apply first (size, nesting, operators; a syntax error raises
    `QuerySyntaxError`). `required` must be a valid scope (see `check_scope`)."""
    return _write_checked(_parsed(expr), check_scope(required))


def enforce_series_selectors(selectors: Sequence[str], required: Scope) -> list[str]:
    """The `match[]` of a Prometheus discovery call (series, labels, label values), confined.

    Each selector must be a series selector (`up{job="api"}`, not `rate(up[5m])`), else
    `QueryInputError`; none given gives one selector holding just the scope."""
    scope = check_scope(required)
    confined = []
    for text in selectors:
        tree = _parsed(text)
        if not isinstance(tree, pp.VectorSelector):
            example = 'up{job="api"}'
            raise QueryInputError(f"match[] takes series selectors such as {example}, not {text[:200]!r}")
        confined.append(_write_checked(tree, scope))
    return confined or [_scope_series_selector(scope)]


def enforce_logql(expr: str, required: Scope) -> str:
    """`expr` (a LogQL log or metric query) with the required matchers in every stream selector.

    Loki's stream matchers take the same operators (= != =~ !~). Parse errors raise
    `LogQLSyntaxError`."""
    scope = tuple(StreamMatcher(m.name, m.op, m.value) for m in check_scope(required))

    def add(node: object) -> object:
        if isinstance(node, StreamSelector):
            return StreamSelector(node.matchers + tuple(m for m in scope if m not in node.matchers))
        return node

    scoped = transform_logql(parse_logql(expr).expr, add)
    text = str(scoped)
    if parse_logql(text).expr != scoped:
        raise QueryInputError("the LogQL query cannot be confined faithfully; simplify it")
    return text


def enforce_stream_selectors(selectors: Sequence[str], required: Scope) -> list[str]:
    """The stream selectors of a Loki discovery call (`match[]`, `query`), confined.

    Each must be a bare stream selector (`{app="x"}`), else `QueryInputError`; none given gives
    one selector holding just the scope (a scope of only negative matchers cannot select streams
    alone in Loki: then `QueryInputError` asks for a selector)."""
    scope = check_scope(required)
    confined = []
    for text in selectors:
        query = parse_logql(text)
        if not isinstance(query.expr, LogExpr) or query.expr.stages:
            raise QueryInputError(f'give a stream selector such as {{app="api"}}, not {text[:200]!r}')
        confined.append(enforce_logql(text, scope))
    if confined:
        return confined
    selector = str(StreamSelector(tuple(StreamMatcher(m.name, m.op, m.value) for m in scope)))
    try:
        parse_logql(selector)
    except LogQLSyntaxError as exc:
        raise QueryInputError(
            f"this token's labels ({_describe(scope)}) cannot select streams alone: give a stream selector"
        ) from exc
    return [selector]


def allowed_labels(labels: Mapping[str, str], required: Scope) -> bool:
    """Whether a label set returned by a backend lies in the scope (a missing label counts as "")."""
    return all(_matches(m, labels.get(m.name, "")) for m in check_scope(required))


def allowed_label_value(name: str, value: str, required: Scope) -> bool:
    """Whether a value of label `name` from a label-values answer may be shown: False only when a
    required matcher on that label rejects it (values of other labels are confined by `match[]`)."""
    return all(_matches(m, value) for m in check_scope(required) if m.name == name)


@functools.lru_cache(maxsize=256)
def _checked(required: tuple[LabelMatcher, ...]) -> tuple[LabelMatcher, ...]:
    if not required:
        raise ValueError("a scope needs at least one required label matcher")
    for matcher in required:
        if not _LABEL_NAME_RE.fullmatch(matcher.name) or matcher.name == "__name__":
            raise ValueError(f"cannot enforce label {matcher.name!r}: use a label name other than __name__")
        if matcher.op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"unknown match operator {matcher.op!r} in {matcher.name}")
        try:
            matcher.value.encode()
        except UnicodeEncodeError:
            raise ValueError(f"the value enforced on {matcher.name} is not valid Unicode") from None
        if matcher.op in ("=~", "!~") and _regex(matcher.value) is None:
            raise ValueError(f"the regex enforced on {matcher.name} cannot be checked: {matcher.value!r}")
    return tuple(dict.fromkeys(required))


def check_scope(required: Scope) -> tuple[LabelMatcher, ...]:
    """`required` as a tuple without repeats, or ValueError: at least one matcher, label names other than
    `__name__`, operators = != =~ !~, regexes valid in Go's syntax (`GoRegexError`) and checkable."""
    return _checked(tuple(required))


@functools.lru_cache(maxsize=256)
def _regex(value: str) -> re.Pattern[str] | None:
    return compile_go_regex(value)


def _matches(matcher: LabelMatcher, value: str) -> bool:
    """Prometheus semantics: regexes are anchored at both ends."""
    if matcher.op in ("=", "!="):
        return (value == matcher.value) == (matcher.op == "=")
    pattern = _regex(matcher.value)
    assert pattern is not None  # check_scope refuses regexes that cannot be checked
    return (pattern.fullmatch(value) is not None) == (matcher.op == "=~")


def _describe(scope: Sequence[object]) -> str:
    return ", ".join(str(m) for m in scope)


def _scope_series_selector(scope: tuple[LabelMatcher, ...]) -> str:
    """`{namespace="payments"}`; Prometheus needs one matcher that rejects "": add `__name__=~".+"`
    (every series has a name) when the scope has none."""
    matchers = [_matcher_text(m.name, m.op, m.value) for m in scope]
    if all(_matches(m, "") for m in scope):
        matchers.insert(0, '__name__=~".+"')
    return "{" + ", ".join(matchers) + "}"


# --- writing PromQL from the tree ---------------------------------------------------------------------


def render_promql(tree: pp.Expr) -> str:
    """PromQL text for `tree` that parses back to the same tree, or `QueryInputError` when it
    cannot be written (an `@` timestamp before 1970, which promql-parser cannot represent)."""
    return _write_checked(tree, ())


def _parsed(expr: str) -> pp.Expr:
    check_promql_size(expr)
    return parse_promql(expr)


def _write_checked(tree: pp.Expr, scope: tuple[LabelMatcher, ...]) -> str:
    text = _Writer(scope).text(tree)
    try:
        again = _Writer(()).text(pp.parse(text))
    except ValueError:  # QueryInputError included
        again = None
    if again != text:
        raise QueryInputError("the PromQL query cannot be rewritten faithfully; simplify it")
    return text


_OPERATORS: tuple[tuple[pp.MatchOp, MatchOperator], ...] = (
    (pp.MatchOp.Equal, "="),
    (pp.MatchOp.NotEqual, "!="),
    (pp.MatchOp.Re, "=~"),
    (pp.MatchOp.NotRe, "!~"),
)


class _Writer:
    """Writes a tree as PromQL text, adding `scope` to every selector (reading a node's attribute
    copies its subtree in promql-parser, so each node is read once)."""

    def __init__(self, scope: tuple[LabelMatcher, ...]) -> None:
        self.scope = scope
        self.kinds: dict[type, Callable[[Any], str]] = {
            pp.VectorSelector: self.vector,
            pp.MatrixSelector: self.matrix,
            pp.SubqueryExpr: self.subquery,
            pp.Call: self.call,
            pp.AggregateExpr: self.aggregate,
            pp.BinaryExpr: self.binary,
            pp.UnaryExpr: self.unary,
            pp.ParenExpr: lambda node: f"({self.text(node.expr)})",
            pp.NumberLiteral: lambda node: _number(node.val),
            pp.StringLiteral: lambda node: escape_logql_string(node.val),
        }

    def text(self, node: pp.Expr) -> str:
        write = self.kinds.get(type(node))
        if write is None:
            raise QueryInputError(f"cannot write a PromQL {type(node).__name__}")
        return write(node)

    def vector(self, node: pp.VectorSelector) -> str:
        return self.selector(node) + _modifiers(node.at, node.offset)

    def matrix(self, node: pp.MatrixSelector) -> str:
        inner = node.vector_selector
        return f"{self.selector(inner)}[{_duration(node.range)}]{_modifiers(inner.at, inner.offset)}"

    def subquery(self, node: pp.SubqueryExpr) -> str:
        window = _duration(node.range) if node.range is not None else ""  # the parser always sets it
        step = _duration(node.step) if node.step is not None else ""
        return f"{self.text(node.expr)}[{window}:{step}]{_modifiers(node.at, node.offset)}"

    def call(self, node: pp.Call) -> str:
        return f"{node.func.name}({', '.join(self.text(arg) for arg in node.args)})"

    def aggregate(self, node: pp.AggregateExpr) -> str:
        grouping = ""
        if node.modifier is not None:
            word = "by" if node.modifier.type == pp.AggModifierType.By else "without"
            grouping = f" {word} ({_labels(node.modifier.labels)}) "
        param = f"{self.text(node.param)}, " if node.param is not None else ""
        return f"{node.op}{grouping}({param}{self.text(node.expr)})"

    def binary(self, node: pp.BinaryExpr) -> str:
        modifier = _binary_modifier(node.modifier) if node.modifier is not None else ""
        return f"{self.text(node.lhs)} {node.op}{modifier} {self.text(node.rhs)}"

    def unary(self, node: pp.UnaryExpr) -> str:
        inner = self.text(node.expr)
        return f"- {inner}" if inner.startswith("-") else f"-{inner}"

    def selector(self, node: pp.VectorSelector) -> str:
        """`name{...}` with the scope in every alternative, without the @ and offset modifiers."""
        matchers = node.matchers
        alternatives = []
        for group in matchers.or_matchers or [matchers.matchers]:
            own = [_label_matcher(m) for m in group]
            wanted = own + [m for m in self.scope if m not in own]
            alternatives.append(", ".join(_matcher_text(m.name, m.op, m.value) for m in wanted))
        inner = " or ".join(alternatives)
        name = node.name or ""
        return f"{name}{{{inner}}}" if inner or not name else name


def _binary_modifier(modifier: pp.BinModifier) -> str:
    parts = ["bool"] if modifier.return_bool else []
    if modifier.matching is not None:
        word = "on" if modifier.matching.type == pp.LabelModifierType.Include else "ignoring"
        parts.append(f"{word} ({_labels(modifier.matching.labels)})")
    if modifier.card in (pp.VectorMatchCardinality.ManyToOne, pp.VectorMatchCardinality.OneToMany):
        side = "left" if modifier.card == pp.VectorMatchCardinality.ManyToOne else "right"
        parts.append(f"group_{side} ({_labels(modifier.group_labels or [])})")
    fill = modifier.fill_values
    if fill.lhs is not None and fill.lhs == fill.rhs:
        parts.append(f"fill ({_number(fill.lhs)})")
    else:
        sides = (("left", fill.lhs), ("right", fill.rhs))
        parts += [f"fill_{side} ({_number(v)})" for side, v in sides if v is not None]
    return "".join(f" {p}" for p in parts)


def _label_matcher(matcher: pp.Matcher) -> LabelMatcher:
    op = next(text for candidate, text in _OPERATORS if matcher.op == candidate)
    return LabelMatcher(matcher.name, op, matcher.value)


def _matcher_text(name: str, op: str, value: str) -> str:
    return f"{_label(name)}{op}{escape_logql_string(value)}"


def _label(name: str) -> str:
    return name if _LABEL_NAME_RE.fullmatch(name) else escape_logql_string(name)


def _labels(names: Sequence[str]) -> str:
    return ", ".join(_label(n) for n in names)


def _modifiers(at: pp.AtModifier | None, offset: timedelta | None) -> str:
    text = ""
    if at is not None:
        if at.type == pp.AtModifierType.Start:
            text = " @ start()"
        elif at.type == pp.AtModifierType.End:
            text = " @ end()"
        else:
            text = " " + _at_timestamp(at)
    if offset is not None:
        text += f" offset {_duration(offset)}"
    return text


def _at_timestamp(at: pp.AtModifier) -> str:
    # Reading `at.at` crashes promql-parser for times before 1970 (a Rust panic), and its str()
    # shows those as 0: use the str() (milliseconds, as Prometheus keeps them) and refuse <= 0.
    text = str(at)
    seconds = float(text.removeprefix("@ "))
    if not 0 < seconds <= _MAX_AT_SECONDS:
        raise QuerySyntaxError("PromQL", "@ timestamps must lie between 1970 and 9999 (Unix seconds)")
    return text


def _duration(delta: timedelta) -> str:
    ns = ((delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds) * 1000
    if ns % 10**6:
        raise QueryInputError(f"cannot write a duration of {delta}: PromQL counts in milliseconds")
    return format_duration(ns)


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value == 0 and math.copysign(1, value) < 0:
        return "-0"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
