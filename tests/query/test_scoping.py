"""Scoped queries: the required matchers reach every selector, and nothing else changes."""

import dataclasses
from collections.abc import Sequence
from typing import Any

import httpx
import promql_parser as pp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops_mcp.query.errors import QueryInputError, QuerySyntaxError
from aiops_mcp.query.logql import LogQLSyntaxError, StreamSelector, parse_logql
from aiops_mcp.query.logql import Matcher as StreamMatcher
from aiops_mcp.query.logql.literals import escape_logql_string
from aiops_mcp.query.promql import LabelMatcher, escape_label_value, validate_promql
from aiops_mcp.query.scoping import (
    allowed_label_value,
    allowed_labels,
    check_scope,
    enforce_logql,
    enforce_promql,
    enforce_series_selectors,
    enforce_stream_selectors,
    render_promql,
)
from tests.backends.plugin import PrometheusBackend

PAYMENTS = (LabelMatcher("namespace", "=", "payments"),)
TWO_LABELS = (LabelMatcher("namespace", "=", "payments"), LabelMatcher("env", "!=", "staging"))


def quoted(value: str) -> str:
    """A PromQL string written with the project's minimal escaping (raw control characters)."""
    return f'"{escape_label_value(value)}"'


# --- checking a confined query independently of the code under test -----------------------------------------


def groups_of(expr: str) -> list[tuple[LabelMatcher, ...]]:
    """Every matcher group of every selector: the matchers, or each `or` alternative."""
    return [g for s in validate_promql(expr).selectors for g in (s.or_matchers or (s.matchers,))]


def without(group: Sequence[LabelMatcher], scope: Sequence[LabelMatcher]) -> tuple[LabelMatcher, ...]:
    return tuple(m for m in group if m not in scope)


def node_types(expr: str) -> list[str]:
    names: list[str] = []
    pp.walk(pp.parse(expr), lambda node: names.append(type(node).__name__))
    return names


def assert_confined(original: str, scope: Sequence[LabelMatcher]) -> str:
    """Enforce, then check: every group carries each required matcher exactly once (or as often
    as the query had it), and the query is otherwise the same tree."""
    confined = enforce_promql(original, scope)
    before, after = validate_promql(original), validate_promql(confined)
    assert node_types(confined) == node_types(original)
    assert after.value_type == before.value_type
    assert after.max_range_seconds == before.max_range_seconds
    assert len(after.selectors) == len(before.selectors)
    for old, new in zip(before.selectors, after.selectors, strict=True):
        assert (new.metric, new.range_seconds, new.offset_seconds) == (
            old.metric,
            old.range_seconds,
            old.offset_seconds,
        )
        old_groups, new_groups = old.or_matchers or (old.matchers,), new.or_matchers or (new.matchers,)
        assert len(new_groups) == len(old_groups)
        for old_group, new_group in zip(old_groups, new_groups, strict=True):
            assert without(new_group, scope) == without(old_group, scope)
            for required in scope:
                assert new_group.count(required) == max(1, old_group.count(required))
    return confined


def assert_renders_faithfully(expr: str) -> str:
    tree = pp.parse(expr)
    text = render_promql(tree)
    assert repr(pp.parse(text)) == repr(tree)
    assert render_promql(pp.parse(text)) == text
    return text


# --- a corpus of PromQL -------------------------------------------------------------------------------------

INSTANT_FUNCTIONS = [
    "abs",
    "absent",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "ceil",
    "cos",
    "cosh",
    "deg",
    "exp",
    "floor",
    "histogram_avg",
    "histogram_count",
    "histogram_stddev",
    "histogram_stdvar",
    "histogram_sum",
    "ln",
    "log10",
    "log2",
    "rad",
    "scalar",
    "sgn",
    "sin",
    "sinh",
    "sort",
    "sort_desc",
    "sqrt",
    "tan",
    "tanh",
    "timestamp",
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
]
RANGE_FUNCTIONS = [
    "absent_over_time",
    "avg_over_time",
    "changes",
    "count_over_time",
    "delta",
    "deriv",
    "first_over_time",
    "idelta",
    "increase",
    "irate",
    "last_over_time",
    "mad_over_time",
    "max_over_time",
    "min_over_time",
    "present_over_time",
    "rate",
    "resets",
    "stddev_over_time",
    "stdvar_over_time",
    "sum_over_time",
    "ts_of_first_over_time",
    "ts_of_last_over_time",
    "ts_of_max_over_time",
    "ts_of_min_over_time",
]
OTHER_CALLS = [
    "clamp(x, 0, 1)",
    "clamp_max(x, 1)",
    "clamp_min(x, -1)",
    "round(x)",
    "round(x, 0.5)",
    "predict_linear(x[5m], 3600)",
    "quantile_over_time(0.9, x[5m])",
    "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))",
    "histogram_fraction(0, 0.25, x)",
    "double_exponential_smoothing(x[5m], 0.5, 0.5)",
    'label_replace(up, "dst", "$1", "src", "(.*)")',
    'label_join(up, "dst", ",", "a", "b", "c")',
    'sort_by_label(x, "a", "b")',
    'sort_by_label_desc(x, "a")',
    "info(x)",
    'info(x, target_info{k="v"})',
    "vector(1)",
    "time()",
    "pi()",
    "hour()",
    "scalar(sum(x))",
]
AGGREGATIONS = [
    "sum(x)",
    "avg by (a) (x)",
    "count without (a, b) (x)",
    "min(x) by (a)",
    "max without () (x)",
    "group(x)",
    "stddev(x)",
    "stdvar(x)",
    "topk(3, x)",
    "bottomk by (a) (2, x)",
    "quantile(0.9, x)",
    'count_values("value", x)',
    "limitk(2, x)",
    "limit_ratio(0.5, x)",
    "sum by () (x)",
]
OPERATORS = [
    *(f"a {op} b" for op in ("+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "atan2")),
    "a and b",
    "a or b",
    "a unless b",
    "a > bool 1",
    "1 < bool 2",
    "a + on (job) b",
    "a * ignoring (instance) b",
    "a / on (job) group_left b",
    "a / on (job) group_left (team, env) b",
    "a - ignoring (x) group_right (y) b",
    "a and on () b",
    "a or ignoring (x) b",
    "a == bool on (job) b",
    "a + fill (0) b",
    "a + fill_left (1) fill_right (2) b",
    "a - b - c",
    "a - (b - c)",
    "a ^ b ^ c",
    "(a ^ b) ^ c",
    "-a ^ 2",
    "(-a) ^ 2",
    "-(a + b)",
    "- -1",
    "-(-1)",
    "1 - -1",
    "a * 2 + b / 3 % 4",
    "(((a)))",
]
MODIFIERS = [
    "x offset 5m",
    "x offset -1h",
    "x offset 1h30m",
    "x offset 1y2w3d",
    "x offset 500ms",
    "x @ start()",
    "x @ end()",
    "x @ 1700000000",
    "x @ 1700000000.123",
    "x @ 1700000000 offset 1h",
    "x offset 1h @ end()",
    "x[5m] offset 1h",
    "x[5m] @ end()",
    "x[90s]",
    "rate(x[5m] offset -1h @ start())",
    "max_over_time(rate(x[5m])[1h:5m])",
    "max_over_time(rate(x[5m])[1h:])",
    "avg_over_time((a + b)[30m:1m] offset 5m @ end())",
    "x[1h:5m]",
    "min_over_time(max_over_time(x[5m])[1h:5m])[1d:1h]",
]
NUMBERS = [
    "1",
    "-1",
    "0.5",
    "1e-05",
    "1e300",
    "-2.5e-10",
    "NaN",
    "Inf",
    "-Inf",
    "0x1f",
    "-0",
    "123456789012345678",
]
VALUES = [
    "",
    'a"b',
    "back\\slash",
    "new\nline",
    "tab\there",
    "cr\rlf",
    "nul\x00byte",
    "del\x7f",
    "é and ünïcödé",
    "emoji \U0001f600",
    "rtl \u202e mark",
    "zero\u200bwidth",
    '"} or vector(1) or x{a="',
    "{{braces}}",
    "`backtick`",
    "'single'",
]
SELECTORS = [
    "up",
    "up{}",
    'up{job="api"}',
    '{__name__="up"}',
    '{__name__=~".+"}',
    '{__name__=~"http_.*", job!=""}',
    'x{a="1" or b="2"}',
    'x{a="1", b="2" or c="3"}',
    '{a="1" or b="2"}',
    'x{a!="1", b=~"x|y", c!~"z.*"}',
    '{"utf8.name"="x"}',
    '{"up"}',
    'sum by ("a.b") (x)',
    *(f"x{{a={quoted(v)}}}" for v in VALUES),
    *(f"x{{a={escape_logql_string(v)}}}" for v in VALUES),
    r'x{a="\x41\u0042\U00000043\101"}',
    r"x{a='single \' quoted'}",
    "x{a=`raw \\n`}",
    'x{a=~"(a+)+$"}',
    'x{a=~"((a*)*)*b"}',
]
CORPUS = [
    *SELECTORS,
    *(f"{name}(x)" for name in INSTANT_FUNCTIONS),
    *(f"{name}(x[5m])" for name in RANGE_FUNCTIONS),
    *OTHER_CALLS,
    *AGGREGATIONS,
    *OPERATORS,
    *MODIFIERS,
    *NUMBERS,
    '"a string"',
    '"esc\\"aped"',
    "up # a comment",
    "up # a comment\n or vector(1)",
    'sum by (job) (rate(requests_total{status=~"5.."}[5m])) / sum by (job) (rate(requests_total[5m]))',
    'label_replace(rate(x{namespace="other"}[5m]), "namespace", "payments", "", "")',
]


@pytest.mark.parametrize("expr", CORPUS)
def test_every_expression_renders_to_text_that_parses_to_the_same_tree(expr: str) -> None:
    assert_renders_faithfully(expr)


@pytest.mark.parametrize("expr", CORPUS)
def test_every_selector_of_every_expression_gets_the_scope_and_nothing_else_changes(expr: str) -> None:
    confined = assert_confined(expr, PAYMENTS)
    assert assert_confined(confined, PAYMENTS) == confined
    assert_confined(expr, TWO_LABELS)


def test_promql_parsers_own_rendering_is_not_faithful_for_these_inputs() -> None:
    """Why the text is rendered here: str() of the tree loses escapes, `or` matchers, steps."""
    for expr in ('x{a="q\\"uote"}', 'x{a="1" or b="2"}', "x[1h:]"):
        tree = pp.parse(expr)
        try:
            again = pp.parse(str(tree))
        except ValueError:
            continue
        assert repr(again) != repr(tree)


# --- what enforcement does ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("up", 'up{namespace="payments"}'),
        ("up or vector(1)", 'up{namespace="payments"} or vector(1)'),
        ('{__name__=~".+"}', '{__name__=~".+", namespace="payments"}'),
        ('count({__name__=~".+"})', 'count({__name__=~".+", namespace="payments"})'),
        ("max_over_time(rate(x[5m])[1h:5m])", 'max_over_time(rate(x{namespace="payments"}[5m])[1h:5m])'),
        ("x @ end()", 'x{namespace="payments"} @ end()'),
        ("x offset -1h", 'x{namespace="payments"} offset -1h'),
        ("up # or vector(1)", 'up{namespace="payments"}'),
        ("up # note\n or vector(1)", 'up{namespace="payments"} or vector(1)'),
        ('x{a="1" or b="2"}', 'x{a="1", namespace="payments" or b="2", namespace="payments"}'),
        (
            "a / on (job) group_left b",
            'a{namespace="payments"} / on (job) group_left () b{namespace="payments"}',
        ),
        (
            'label_replace(up, "namespace", "payments", "", "")',
            'label_replace(up{namespace="payments"}, "namespace", "payments", "", "")',
        ),
    ],
)
def test_the_scope_is_written_into_the_query_text(expr: str, expected: str) -> None:
    assert enforce_promql(expr, PAYMENTS) == expected


@pytest.mark.parametrize("expr", ["vector(1)", "time()", "1 + 2", '"text"', "pi()", "scalar(vector(1))"])
def test_expressions_that_read_no_data_are_left_unchanged(expr: str) -> None:
    confined = enforce_promql(expr, PAYMENTS)
    assert not validate_promql(confined).has_selector
    assert repr(pp.parse(confined)) == repr(pp.parse(expr))


def test_a_conflicting_matcher_is_kept_and_anded_so_nothing_outside_the_scope_is_selected() -> None:
    assert enforce_promql('x{namespace="other"}', PAYMENTS) == 'x{namespace="other", namespace="payments"}'
    assert enforce_promql('x{namespace=~".*"}', PAYMENTS) == 'x{namespace=~".*", namespace="payments"}'
    assert enforce_promql('x{namespace!="payments"}', PAYMENTS) == (
        'x{namespace!="payments", namespace="payments"}'
    )


def test_an_identical_matcher_is_not_duplicated_even_when_written_with_escapes() -> None:
    assert enforce_promql('x{namespace="payments"}', PAYMENTS) == 'x{namespace="payments"}'
    assert enforce_promql('x{namespace="\\u0070ayments"}', PAYMENTS) == 'x{namespace="payments"}'
    assert enforce_promql("x{namespace='payments'}", PAYMENTS) == 'x{namespace="payments"}'


def test_a_label_replace_that_forges_the_namespace_still_reads_only_the_scope() -> None:
    confined = enforce_promql(
        'label_replace(x{namespace="other"}, "namespace", "payments", "", "")', PAYMENTS
    )
    (selector,) = validate_promql(confined).selectors
    assert selector.matchers == (LabelMatcher("namespace", "=", "other"), *PAYMENTS)


def test_injection_attempts_in_values_stay_one_value() -> None:
    hostile = '"} or vector(1) or x{namespace=~".*'
    expr = f"x{{app={quoted(hostile)}}}"
    confined = enforce_promql(expr, PAYMENTS)
    (selector,) = validate_promql(confined).selectors
    assert selector.matchers == (LabelMatcher("app", "=", hostile), *PAYMENTS)
    assert node_types(confined) == ["VectorSelector"]


def test_regex_bombs_in_values_are_passed_verbatim_for_prometheus_linear_time_regex_engine() -> None:
    confined = enforce_promql('x{a=~"(a+)+$"}', PAYMENTS)
    assert validate_promql(confined).selectors[0].matchers[0] == LabelMatcher("a", "=~", "(a+)+$")


def test_a_scope_value_with_quotes_and_backslashes_is_escaped() -> None:
    odd = (LabelMatcher("team", "=", 'a"b\\c\nd'),)
    confined = assert_confined("up", odd)
    assert validate_promql(confined).selectors[0].matchers == odd


def test_a_regex_scope_is_enforced_like_any_matcher() -> None:
    scope = (LabelMatcher("namespace", "=~", "payments|billing"),)
    assert enforce_promql("up", scope) == 'up{namespace=~"payments|billing"}'


def test_the_promql_guards_apply_before_enforcement() -> None:
    with pytest.raises(QuerySyntaxError, match="characters long"):
        enforce_promql("up + " * 2000 + "up", PAYMENTS)
    with pytest.raises(QuerySyntaxError, match="operators"):
        enforce_promql("up" + " + up" * 300, PAYMENTS)
    with pytest.raises(QuerySyntaxError, match="nests"):
        enforce_promql("(" * 70 + "up" + ")" * 70, PAYMENTS)
    with pytest.raises(QuerySyntaxError):
        enforce_promql("rate(up[5m]", PAYMENTS)
    with pytest.raises(QuerySyntaxError):
        enforce_promql("   ", PAYMENTS)


def test_the_longest_accepted_expressions_are_enforced() -> None:
    chain = "up" + " + up" * 256
    assert enforce_promql(chain, PAYMENTS) == " + ".join(['up{namespace="payments"}'] * 257)
    nested = "abs(" * 60 + "up" + ")" * 60
    assert enforce_promql(nested, PAYMENTS) == "abs(" * 60 + 'up{namespace="payments"}' + ")" * 60


@pytest.mark.parametrize("expr", ["x @ -10", "x @ 0", "x @ 1e20"])
def test_at_timestamps_promql_parser_cannot_represent_are_refused_not_crashed_on(expr: str) -> None:
    with pytest.raises(QueryInputError):
        enforce_promql(expr, PAYMENTS)


# --- the scope itself ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [
        (),
        (LabelMatcher("__name__", "=", "up"),),
        (LabelMatcher("bad-name", "=", "x"),),
        (LabelMatcher("namespace", "==", "x"),),  # type: ignore[arg-type]
        (LabelMatcher("namespace", "=~", "(unclosed"),),
        (LabelMatcher("namespace", "=", "\ud800"),),
    ],
)
def test_a_scope_that_cannot_be_enforced_is_a_configuration_error(scope: tuple[LabelMatcher, ...]) -> None:
    with pytest.raises(ValueError):
        check_scope(scope)
    with pytest.raises(ValueError):
        enforce_promql("up", scope)


# --- discovery ----------------------------------------------------------------------------------------------


def test_series_selectors_are_confined_and_never_empty() -> None:
    assert enforce_series_selectors([], PAYMENTS) == ['{namespace="payments"}']
    assert enforce_series_selectors(["up", '{job="x"}'], PAYMENTS) == [
        'up{namespace="payments"}',
        '{job="x", namespace="payments"}',
    ]


def test_a_scope_of_only_negative_matchers_still_makes_a_valid_series_selector() -> None:
    (selector,) = enforce_series_selectors([], (LabelMatcher("namespace", "!=", "kube-system"),))
    assert selector == '{__name__=~".+", namespace!="kube-system"}'
    assert validate_promql(selector).has_selector


@pytest.mark.parametrize("expr", ["rate(up[5m])", "up + 1", "up[5m]", "vector(1)", "sum(up)"])
def test_series_selectors_must_be_selectors(expr: str) -> None:
    with pytest.raises(QueryInputError, match="series selectors"):
        enforce_series_selectors([expr], PAYMENTS)


def test_stream_selectors_are_confined_and_never_empty() -> None:
    assert enforce_stream_selectors([], PAYMENTS) == ['{namespace="payments"}']
    assert enforce_stream_selectors(['{app="x"}'], PAYMENTS) == ['{app="x", namespace="payments"}']
    with pytest.raises(QueryInputError, match="stream selector"):
        enforce_stream_selectors(['{app="x"} |= "a"'], PAYMENTS)
    with pytest.raises(QueryInputError, match="cannot select streams alone"):
        enforce_stream_selectors([], (LabelMatcher("namespace", "!=", "x"),))


def test_discovery_answers_are_filtered_like_prometheus_matches() -> None:
    assert allowed_labels({"namespace": "payments", "job": "x"}, PAYMENTS)
    assert not allowed_labels({"namespace": "shop"}, PAYMENTS)
    assert not allowed_labels({"job": "x"}, PAYMENTS)  # a missing label is ""
    assert allowed_labels({"namespace": "payments"}, TWO_LABELS)
    assert not allowed_labels({"namespace": "payments", "env": "staging"}, TWO_LABELS)
    regex = (LabelMatcher("namespace", "=~", "pay.*|billing"),)
    assert allowed_labels({"namespace": "payments"}, regex)
    assert not allowed_labels({"namespace": "xpayments"}, regex)  # anchored
    assert not allowed_labels({"namespace": "payments\n"}, regex)
    assert allowed_labels({"namespace": "x"}, (LabelMatcher("namespace", "!~", "pay.*"),))


def test_label_values_are_filtered_only_by_matchers_on_that_label() -> None:
    assert allowed_label_value("namespace", "payments", PAYMENTS)
    assert not allowed_label_value("namespace", "shop", PAYMENTS)
    assert allowed_label_value("job", "anything", PAYMENTS)


# --- LogQL --------------------------------------------------------------------------------------------------

LOGQL_CORPUS = [
    '{app="x"}',
    '{app="x", namespace="other"}',
    '{app=~"x|y", env!="dev", pod!~"tmp.*"}',
    '{app="x"} |= "error" != "debug" |~ "a.*b" !~ "c"',
    '{app="x"} | json | level="error" | line_format "{{.msg}}"',
    '{app="x"} | logfmt | duration > 1s | status >= 500 or size < 10KB',
    '{app="x"} | drop namespace | keep app, level',
    '{app="x"} | label_format namespace="payments"',
    'count_over_time({app="x"}[5m])',
    'sum by (app) (rate({app="x"} |= "err" [1m]))',
    'topk(3, sum by (app) (count_over_time({app="x"}[5m])))',
    'sum(rate({app="x"}[5m])) / sum(rate({app="y"}[5m]))',
    'sum(rate({app="x"}[5m])) > bool 1',
    'count_over_time({app="x"}[5m]) and on (app) count_over_time({app="y"}[5m])',
    'quantile_over_time(0.95, {app="x"} | logfmt | unwrap latency [5m]) by (app)',
    'label_replace(rate({app="x"}[5m]), "namespace", "payments", "app", "(.*)")',
    'vector(1) or rate({app="x"}[5m])',
    'sum(count_over_time({app="x"}[5m] offset 1h))',
    '{app="\\"} or {namespace=~\\".*"}',
    '{app="x"} |= "\\"} or {namespace=~\\".*"',
]


def strip(node: Any, scope: Sequence[StreamMatcher]) -> Any:
    """The tree with the scope's matchers removed from every stream selector."""
    if isinstance(node, StreamSelector):
        return StreamSelector(tuple(m for m in node.matchers if m not in scope))
    if isinstance(node, tuple):
        return tuple(strip(item, scope) for item in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.replace(
            node, **{f.name: strip(getattr(node, f.name), scope) for f in dataclasses.fields(node)}
        )
    return node


def assert_logql_confined(original: str, scope: Sequence[LabelMatcher]) -> str:
    confined = enforce_logql(original, scope)
    wanted = [StreamMatcher(m.name, m.op, m.value) for m in scope]
    before, after = parse_logql(original), parse_logql(confined)
    assert str(after) == confined
    assert strip(after.expr, wanted) == strip(before.expr, wanted)
    assert len(after.selectors) == len(before.selectors)
    for old, new in zip(before.selectors, after.selectors, strict=True):
        for required in wanted:
            assert new.matchers.count(required) == max(1, old.matchers.count(required))
    return confined


@pytest.mark.parametrize("expr", LOGQL_CORPUS)
def test_every_logql_stream_selector_gets_the_scope_and_nothing_else_changes(expr: str) -> None:
    confined = assert_logql_confined(expr, PAYMENTS)
    assert enforce_logql(confined, PAYMENTS) == confined
    assert_logql_confined(expr, TWO_LABELS)


def test_logql_conflicts_are_anded_and_identical_matchers_kept_once() -> None:
    assert enforce_logql('{namespace="other"}', PAYMENTS) == '{namespace="other", namespace="payments"}'
    assert enforce_logql('{namespace="payments", app="x"}', PAYMENTS) == '{namespace="payments", app="x"}'


def test_logql_syntax_errors_are_raised() -> None:
    with pytest.raises(LogQLSyntaxError):
        enforce_logql('{app="x"', PAYMENTS)


# --- property tests -----------------------------------------------------------------------------------------

LABELS = ["job", "namespace", "le", "a_b"]
REGEXES = [".*", ".+", "pay.*", "a|b", "(a+)+$", "\\d+", ""]
values = st.one_of(st.sampled_from(VALUES), st.text(st.characters(codec="utf-8"), max_size=8))
durations = st.sampled_from(["5m", "1h", "90s", "1h30m", "2d", "500ms"])


@st.composite
def promql_matchers(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(LABELS))
    op = draw(st.sampled_from(["=", "!=", "=~", "!~"]))
    value = draw(st.sampled_from(REGEXES) if "~" in op else values)
    return f"{name}{op}{quoted(value)}"


MODIFIER_TEXTS = st.sampled_from(["", " offset 5m", " offset -1h", " @ end()", " @ 1700000000.5"])


@st.composite
def promql_selectors(draw: st.DrawFn, window: str = "") -> str:
    """A selector, a range selector when `window` is given, with random modifiers."""
    name = draw(st.sampled_from([None, "up", "http_requests_total", "namespace", "x:y"]))
    groups = []
    alternatives = draw(st.integers(1, 3)) if draw(st.booleans()) else 1
    for _ in range(alternatives):
        group = draw(st.lists(promql_matchers(), max_size=3))
        if name is None or (alternatives > 1 and not group):
            group.insert(draw(st.integers(0, len(group))), 'job="api"')  # some matcher must reject ""
        groups.append(", ".join(group))
    text = (name or "") + "{" + " or ".join(groups) + "}"
    return text + (f"[{window}]" if window else "") + draw(MODIFIER_TEXTS)


@st.composite
def promql_vectors(draw: st.DrawFn, depth: int = 3) -> str:
    if depth == 0:
        return draw(promql_selectors())
    inner = promql_vectors(depth=depth - 1)
    kind = draw(st.integers(0, 13))
    if kind == 0:
        return draw(promql_selectors())
    if kind == 1:
        fn = draw(st.sampled_from(RANGE_FUNCTIONS))
        return f"{fn}({draw(promql_selectors(draw(durations)))})"
    if kind == 2:
        return f"{draw(st.sampled_from(INSTANT_FUNCTIONS[:20]))}({draw(inner)})"
    if kind == 3:
        op = draw(st.sampled_from(["sum", "avg", "count", "max", "group"]))
        grouping = draw(st.sampled_from(["", " by (job)", " without (le)", " by ()"]))
        return f"{op}{grouping} ({draw(inner)})"
    if kind == 4:
        return draw(st.sampled_from(["topk(2, {})", "quantile(0.9, {})", 'count_values("v", {})'])).format(
            draw(inner)
        )
    if kind == 5:
        op = draw(st.sampled_from(["+", "-", "*", "/", "%", "^", "==", ">", "atan2"]))
        matching = draw(st.sampled_from(["", " on (job)", " ignoring (le)", " on (job) group_left (le)"]))
        return f"({draw(inner)} {op}{matching} {draw(inner)})"
    if kind == 6:
        op = draw(st.sampled_from(["and", "or", "unless"]))
        matching = draw(st.sampled_from(["", " on (job)", " ignoring (le)"]))
        return f"({draw(inner)} {op}{matching} {draw(inner)})"
    if kind == 7:
        op = draw(st.sampled_from(["+", "*", ">", "<=", "== bool"]))
        left, right = draw(inner), draw(promql_scalars(depth - 1))
        return f"({left} {op} {right})" if draw(st.booleans()) else f"({right} {op} {left})"
    if kind == 8:
        return f"({draw(inner)})" if draw(st.booleans()) else f"-{draw(inner)}"
    if kind == 9:
        dst = quoted(draw(values))
        return f'label_replace({draw(inner)}, "namespace", {dst}, "job", "(.*)")'
    if kind == 10:
        step = draw(st.sampled_from(["", "1m"]))
        offset = draw(st.sampled_from(["", " offset 1h"]))
        return f"max_over_time(({draw(inner)})[{draw(durations)}:{step}]{offset})"
    if kind == 11:
        return f"{draw(inner)} or vector({draw(st.integers(0, 9))})"
    if kind == 12:
        return f"absent({draw(promql_selectors())})"
    return f"histogram_quantile(0.9, sum by (le) (rate({draw(promql_selectors('5m'))})))"


@st.composite
def promql_scalars(draw: st.DrawFn, depth: int = 1) -> str:
    kind = draw(st.integers(0, 3 if depth > 0 else 1))
    if kind == 0:
        return draw(st.sampled_from(NUMBERS))
    if kind == 1:
        return "time()"
    if kind == 2:
        return f"scalar({draw(promql_vectors(depth=depth - 1))})"
    return f"({draw(promql_scalars(depth - 1))} + {draw(promql_scalars(depth - 1))})"


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(promql_vectors())
def test_random_promql_is_confined_in_every_selector_and_idempotently(expr: str) -> None:
    confined = assert_confined(expr, PAYMENTS)
    assert enforce_promql(confined, PAYMENTS) == confined
    assert_renders_faithfully(expr)


@PROPERTY
@given(promql_vectors(), st.lists(promql_matchers(), min_size=1, max_size=2))
def test_random_promql_is_confined_by_random_scopes(expr: str, scope_texts: list[str]) -> None:
    scope = [m for text in scope_texts for m in validate_promql("x{" + text + "}").selectors[0].matchers]
    scope = [m for m in scope if m.name != "__name__"]
    assert_confined(expr, scope)


@st.composite
def logql_logs(draw: st.DrawFn) -> str:
    matchers = [f"app={escape_logql_string(draw(values.filter(bool)))}"]
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(["namespace", "env", "pod"]))
        op = draw(st.sampled_from(["=", "!=", "=~", "!~"]))
        value = draw(st.sampled_from(REGEXES) if "~" in op else values)
        matchers.append(f"{name}{op}{escape_logql_string(value)}")
    stages = draw(
        st.lists(
            st.sampled_from(
                [
                    f"|= {escape_logql_string(draw(values))}",
                    '!= "debug"',
                    '|~ "err.*"',
                    "| json",
                    "| logfmt",
                    '| level="error"',
                    '| line_format "{{.msg}}"',
                    "| drop namespace",
                    '| label_format namespace="payments"',
                    "| decolorize",
                ]
            ),
            max_size=3,
        )
    )
    return "{" + ", ".join(matchers) + "}" + "".join(f" {s}" for s in stages)


@st.composite
def logql_metrics(draw: st.DrawFn, depth: int = 2) -> str:
    kind = draw(st.integers(0, 5 if depth > 0 else 0))
    if kind == 0:
        op = draw(st.sampled_from(["count_over_time", "rate", "bytes_over_time", "bytes_rate"]))
        return f"{op}({draw(logql_logs())} [{draw(st.sampled_from(['5m', '1h']))}])"
    inner = logql_metrics(depth=depth - 1)
    if kind == 1:
        grouping = draw(st.sampled_from(["", " by (app)", " without (pod)"]))
        return f"{draw(st.sampled_from(['sum', 'max', 'count']))}{grouping} ({draw(inner)})"
    if kind == 2:
        return f"{draw(inner)} {draw(st.sampled_from(['+', '/', '>', 'and', 'or', 'unless']))} {draw(inner)}"
    if kind == 3:
        return f"{draw(inner)} * {draw(st.integers(1, 9))}"
    if kind == 4:
        return f'label_replace({draw(inner)}, "namespace", "payments", "app", "(.*)")'
    return f"{draw(inner)} or vector(1)"


@PROPERTY
@given(st.one_of(logql_logs(), logql_metrics()))
def test_random_logql_is_confined_in_every_stream_selector_and_idempotently(expr: str) -> None:
    confined = assert_logql_confined(expr, PAYMENTS)
    assert enforce_logql(confined, PAYMENTS) == confined
    assert_logql_confined(expr, TWO_LABELS)


# --- against a real Prometheus holding the demo world -------------------------------------------------------


def instant(backend: PrometheusBackend, query: str) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{backend.url}/api/v1/query",
        data={"query": query, "time": str(backend.world.end.timestamp())},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()["data"]
    assert body["resultType"] == "vector"
    result: list[dict[str, Any]] = body["result"]
    return result


def live_series(
    backend: PrometheusBackend, name: str | None = None, labels: dict[str, str] | None = None
) -> list[Any]:
    """The world's series with a sample in the 5 minutes an instant query at `end` looks back."""
    end = backend.world.end.timestamp()
    return [s for s in backend.world.series(name, labels) if s.timestamps[-1] >= end - 300]


REAL_QUERIES = [
    ("up", True),
    ('up{app="abc-app"}', False),
    ('{__name__=~".+"}', True),
    ("kube_pod_container_status_restarts_total", True),
    ("rate(http_requests_total[5m])", True),
    ('sum by (namespace, job) (rate(http_requests_total{namespace=~".*"}[5m]))', True),
    ("max_over_time(rate(http_requests_total[5m])[1h:5m])", True),
    ("up @ end()", True),
    ("up offset 1h", True),
    ('label_replace(up{app="abc-app"}, "namespace", "payments", "", "")', False),
    ("http_requests_total / on (instance) group_left up", True),
]


@pytest.mark.backend
@pytest.mark.parametrize(("query", "has_data"), REAL_QUERIES)
def test_confined_queries_return_only_the_scopes_series_from_a_real_prometheus(
    prometheus: PrometheusBackend, query: str, has_data: bool
) -> None:
    assert instant(prometheus, query)  # unconfined, every one of these returns data
    result = instant(prometheus, enforce_promql(query, PAYMENTS))
    assert bool(result) == has_data
    for series in result:
        assert series["metric"].get("namespace") == "payments", series


@pytest.mark.backend
def test_an_injection_attempt_in_a_value_stays_one_value_in_a_real_prometheus(
    prometheus: PrometheusBackend,
) -> None:
    hostile = 'checkout"} or up{job="abc-app'
    assert instant(prometheus, f'up{{job="{hostile}"}}')  # what the text would mean unescaped
    confined = enforce_promql(f"up{{job={quoted(hostile)}}}", PAYMENTS)
    assert instant(prometheus, confined) == []


@pytest.mark.backend
def test_the_whole_scope_and_only_it_is_counted_by_a_real_prometheus(prometheus: PrometheusBackend) -> None:
    (everything,) = instant(prometheus, 'count({__name__=~".+"})')
    (confined,) = instant(prometheus, enforce_promql('count({__name__=~".+"})', PAYMENTS))
    assert int(everything["value"][1]) == len(live_series(prometheus))
    assert int(confined["value"][1]) == len(live_series(prometheus, labels={"namespace": "payments"}))
    assert int(confined["value"][1]) < int(everything["value"][1])


@pytest.mark.backend
def test_or_vector_adds_only_a_label_less_constant_from_a_real_prometheus(
    prometheus: PrometheusBackend,
) -> None:
    result = instant(prometheus, enforce_promql("up or vector(1)", PAYMENTS))
    constant = [s for s in result if not s["metric"]]
    scoped = [s for s in result if s["metric"]]
    assert [s["value"][1] for s in constant] == ["1"]
    assert len(scoped) == len(live_series(prometheus, "up", {"namespace": "payments"}))
    assert all(s["metric"]["namespace"] == "payments" for s in scoped)
    assert instant(prometheus, enforce_promql('up{app="abc-app"} or vector(1)', PAYMENTS)) == constant


@pytest.mark.backend
def test_a_conflicting_namespace_selects_nothing_from_a_real_prometheus(
    prometheus: PrometheusBackend,
) -> None:
    assert instant(prometheus, 'kube_pod_container_status_restarts_total{namespace="shop"}')
    confined = enforce_promql('kube_pod_container_status_restarts_total{namespace="shop"}', PAYMENTS)
    assert instant(prometheus, confined) == []


@pytest.mark.backend
def test_discovery_selectors_confine_a_real_prometheus(prometheus: PrometheusBackend) -> None:
    def series(selectors: list[str]) -> list[dict[str, str]]:
        response = httpx.post(f"{prometheus.url}/api/v1/series", data={"match[]": selectors}, timeout=30)
        assert response.status_code == 200, response.text
        found: list[dict[str, str]] = response.json()["data"]
        return found

    world = prometheus.world
    scoped = series(enforce_series_selectors([], PAYMENTS))
    assert len(scoped) == len(list(world.series(selector={"namespace": "payments"})))
    assert all(allowed_labels(s, PAYMENTS) for s in scoped)
    outside = (LabelMatcher("namespace", "!=", "payments"),)
    others = series(enforce_series_selectors([], outside))
    assert len(others) + len(scoped) == len(list(world.series()))
    assert not any(allowed_labels(s, PAYMENTS) for s in others)
    values = httpx.get(
        f"{prometheus.url}/api/v1/label/namespace/values",
        params={"match[]": enforce_series_selectors(["up"], PAYMENTS)},
        timeout=30,
    ).json()["data"]
    assert values == ["payments"]
