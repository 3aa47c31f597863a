import promql_parser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_mcp.query.errors import QueryInputError, QuerySyntaxError
from aiops_mcp.query.promql import (
    MAX_NESTING,
    MAX_OPERATORS,
    LabelMatcher,
    escape_label_value,
    is_unselective,
    selector,
    validate_promql,
)


def syntax_error(expr: str) -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as caught:
        validate_promql(expr)
    assert caught.value.language == "PromQL"
    return caught.value


def only_matcher(expr: str) -> tuple[str | None, str, str]:
    node = promql_parser.parse(expr)
    assert isinstance(node, promql_parser.VectorSelector)
    (matcher,) = node.matchers.matchers
    return node.name, matcher.name, matcher.value


# --- what a valid expression references ---------------------------------------------------------------


def test_metric_names_and_matchers_are_extracted_per_selector() -> None:
    info = validate_promql('sum by (app) (rate(http_requests_total{app="shop",code=~"5.."}[5m])) / sum(up)')
    assert info.metric_names == ("http_requests_total", "up")
    first, second = info.selectors
    assert first.metric == "http_requests_total"
    assert first.matchers == (LabelMatcher("app", "=", "shop"), LabelMatcher("code", "=~", "5.."))
    assert first.range_seconds == 300
    assert (second.metric, second.matchers, second.range_seconds) == ("up", (), None)


def test_a_name_given_as_a_matcher_counts_as_the_metric() -> None:
    info = validate_promql('{__name__="node_load1", instance!="a"}')
    assert info.metric_names == ("node_load1",)
    assert info.selectors[0].matchers[1] == LabelMatcher("instance", "!=", "a")


def test_or_matchers_are_kept_as_alternatives() -> None:
    (sel,) = validate_promql('up{job="a" or job="b"}').selectors
    assert sel.or_matchers == ((LabelMatcher("job", "=", "a"),), (LabelMatcher("job", "=", "b"),))


def test_offsets_are_reported_per_selector() -> None:
    (sel,) = validate_promql("rate(x[5m] offset 1h)").selectors
    assert (sel.range_seconds, sel.offset_seconds) == (300, 3600)


def test_the_largest_range_or_subquery_window_is_reported() -> None:
    assert validate_promql("rate(a[5m]) + rate(b[1h])").max_range_seconds == 3600
    assert validate_promql("max_over_time(rate(x[5m])[1d:1m])").max_range_seconds == 86400
    assert validate_promql("up").max_range_seconds is None


@pytest.mark.parametrize(
    ("expr", "value_type"),
    [
        ("up", "vector"),
        ("rate(x[5m])", "vector"),
        ("sum(x)", "vector"),
        ("x[5m]", "matrix"),
        ("(x[5m])", "matrix"),
        ("rate(x[5m])[1h:1m]", "matrix"),
        ("1", "scalar"),
        ("1 + 2", "scalar"),
        ("-1", "scalar"),
        ("scalar(x)", "scalar"),
        ("time()", "scalar"),
        ('"text"', "string"),
        ("x > bool 1", "vector"),
        ("2 * x", "vector"),
    ],
)
def test_value_type_of_the_top_level_expression(expr: str, value_type: str) -> None:
    assert validate_promql(expr).value_type == value_type


def test_a_top_level_range_vector_is_instant_only() -> None:
    assert validate_promql("x[5m]").is_range_vector
    assert not validate_promql("rate(x[5m])").is_range_vector


@pytest.mark.parametrize(
    ("expr", "has"), [("vector(1)", False), ("time()", False), ("1 + 1", False), ("up", True)]
)
def test_has_selector_is_false_for_expressions_without_series(expr: str, has: bool) -> None:
    assert validate_promql(expr).has_selector is has


def test_normalised_text_is_the_parser_rendering() -> None:
    assert validate_promql("sum(rate(x[5m])) by (a)").normalised == "sum by (a)(rate(x{}[5m]))"
    assert validate_promql("  up  ").normalised == "up{}"


@pytest.mark.parametrize(
    "expr",
    ['x{a="quote\\"inside"}', 'x{a="line\\nbreak"}', 'x{a="1" or b="2"}', "x[5m:]", "rate(x[5m])[1h:]"],
)
def test_normalised_text_falls_back_to_the_input_when_the_rendering_would_change_it(expr: str) -> None:
    assert validate_promql(expr).normalised == expr


def test_logql_metric_queries_without_pipelines_are_valid_promql() -> None:
    assert validate_promql('count_over_time({app="shop"}[5m])').metric_names == ()


# --- errors a model can fix ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "message", "position"),
    [
        ("x{a=b}", "unexpected identifier 'b' in label matching, expected string", 4),
        ('x{a=="b"}', "unexpected '=' in label matching, expected string", 4),
        ("sum(rate(x[5m])", "unclosed left parenthesis", 3),
        ('{app="a"} |= "err"', "unexpected character: '|'", 10),
        ('x{a="b}', 'unterminated quoted string "', 4),
        ('x{a="b"', "unexpected end of input inside braces", 7),
        ("rate(x)", "expected type matrix in call to function 'rate', got vector", 0),
        ("nosuchfn(x)", "unknown function with name 'nosuchfn'", 0),
        ("up}", "unexpected right brace '}'", 2),
        ("abs(x) + y[5m)", "unexpected character inside brackets: ')'", 13),
        ("x[5q]", "bad number or duration syntax: 5q", 2),
        ("x{a!b}", "unexpected character after '!' inside braces: 'b'", 3),
        ('x{a="\\q"}', "unknown escape sequence 'q'", 5),
    ],
)
def test_parse_errors_quote_the_parser_and_point_at_the_problem(
    expr: str, message: str, position: int
) -> None:
    error = syntax_error(expr)
    assert error.position == position
    assert str(error) == f"invalid PromQL at position {position}: {message}"


def test_positions_ignore_look_alikes_inside_strings() -> None:
    assert syntax_error('x{a="|"} |= "err"').position == 9


def test_an_error_without_a_known_position_still_quotes_the_parser() -> None:
    error = syntax_error("foo bar")
    assert error.position is None
    assert str(error) == "invalid PromQL: invalid promql query"


def test_an_ambiguous_function_error_has_no_position() -> None:
    assert syntax_error("rate(x[5m]) + rate(y)").position is None


def test_selectors_matching_everything_are_refused_by_the_parser() -> None:
    assert "at least one non-empty matcher" in str(syntax_error('{job=~".*"}'))


@pytest.mark.parametrize("expr", ["", "   ", "\n"])
def test_empty_expressions_are_refused_with_an_example(expr: str) -> None:
    assert "rate(http_requests_total[5m])" in str(syntax_error(expr))


def test_expressions_too_deep_for_the_parser_are_refused_before_parsing() -> None:
    assert "operators" in str(syntax_error("+".join(["x"] * (MAX_OPERATORS + 2))))
    depth = MAX_NESTING + 1
    assert "nests brackets" in str(syntax_error("(" * depth + "x" + ")" * depth))
    assert "characters long" in str(syntax_error("x" * 10_000))


def test_a_long_but_shallow_expression_is_accepted() -> None:
    assert validate_promql(" or ".join(f'up{{job="j{i}"}}' for i in range(100))).has_selector


# --- unselective selectors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        '{__name__=~".+"}',
        '{__name__!=""}',
        '{job=~".*", instance=~".+"}',
        '{job=~"^.*$", env=~"(.+)"}',
        'up or {__name__=~".+"}',
        'count({__name__=~".*", job!=""})',
        '{job="a" or env=~".+"}',
    ],
)
def test_selectors_that_match_every_series_are_unselective(expr: str) -> None:
    assert is_unselective(validate_promql(expr))


@pytest.mark.parametrize(
    "expr",
    [
        'up{job=~".*"}',
        '{job="api"}',
        '{__name__=~"http_.*"}',
        '{__name__="up"}',
        "vector(1)",
        '{job=~".+api"}',
    ],
)
def test_named_or_narrowed_selectors_are_selective(expr: str) -> None:
    assert not is_unselective(validate_promql(expr))


# --- building selectors safely ----------------------------------------------------------------------------


def test_escape_label_value_escapes_backslash_quote_and_newline() -> None:
    assert escape_label_value('a\\b"c\nd') == 'a\\\\b\\"c\\nd'


def test_selector_builds_metric_and_labels_in_order() -> None:
    assert selector("up", {"job": "api", "env": "prod"}) == 'up{job="api",env="prod"}'
    assert selector(None, {"job": "api"}) == '{job="api"}'
    assert selector("node:cpu:rate5m", {}) == "node:cpu:rate5m{}"


@pytest.mark.parametrize(
    "value",
    [
        '"} or vector(1) or {a="',
        '"}',
        "{}",
        "a\nb",
        "\\",
        '\\"',
        "\\n",
        'x") or up{job="',
        "${injected}",
        "`raw`",
        "'single'",
    ],
)
def test_injection_attempts_stay_inside_one_matcher_value(value: str) -> None:
    built = selector("up", {"job": value})
    assert only_matcher(built) == ("up", "job", value)
    info = validate_promql(built)
    assert len(info.selectors) == 1 and info.selectors[0].matchers == (LabelMatcher("job", "=", value),)


def test_metric_names_that_are_keywords_use_the_name_matcher() -> None:
    assert selector("bool", {"a": "1"}) == '{__name__="bool",a="1"}'
    assert validate_promql(selector("on", {})).metric_names == ("on",)


@pytest.mark.parametrize("metric", ["", "1up", "up{}", 'up"', "up job", "up-total"])
def test_invalid_metric_names_are_refused(metric: str) -> None:
    with pytest.raises(QueryInputError, match="invalid metric name"):
        selector(metric, {})


@pytest.mark.parametrize("label", ["", "1a", 'a"', "a=b", "a b", "a}", "a-b", "é"])
def test_invalid_label_names_are_refused(label: str) -> None:
    with pytest.raises(QueryInputError, match="invalid label name"):
        selector("up", {label: "x"})


def test_a_selector_without_metric_needs_a_non_empty_value() -> None:
    with pytest.raises(QueryInputError, match="non-empty label value"):
        selector(None, {"job": ""})
    with pytest.raises(QueryInputError, match="not both"):
        selector("up", {"__name__": "up"})


@settings(max_examples=500, deadline=None)
@given(st.text(), st.text())
def test_selector_round_trips_any_value_exactly(first: str, second: str) -> None:
    built = selector("metric_total", {"a": first, "b": second})
    node = promql_parser.parse(built)
    assert isinstance(node, promql_parser.VectorSelector)
    assert [(m.name, m.value) for m in node.matchers.matchers] == [("a", first), ("b", second)]


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1))
def test_selector_without_metric_round_trips_any_non_empty_value(value: str) -> None:
    assert only_matcher(selector(None, {"job": value})) == (None, "job", value)
