"""LogQL parsing: the recorded Loki queries parse, the recorded Loki parse errors are rejected alike,
canonical rendering round-trips, and built selectors and filters cannot be escaped from."""

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_mcp.query.errors import QuerySyntaxError
from aiops_mcp.query.logql import (
    EMPTY_COMPATIBLE,
    BinaryOp,
    ComparisonFilter,
    Grouping,
    LabelFilterStage,
    LabelMatchFilter,
    LineFilter,
    LogExpr,
    LogicalLabelFilter,
    LogQLSyntaxError,
    LogRange,
    Matcher,
    NumberLiteral,
    ParserStage,
    RangeAggregation,
    StreamSelector,
    Unwrap,
    VectorAggregation,
    VectorLiteral,
    add_line_filter,
    compile_go_regex,
    escape_logql_string,
    parse_logql,
    stream_selector,
)

RESPONSES = Path(__file__).resolve().parent.parent / "fixtures" / "loki" / "responses"


def recorded_queries(status: int) -> list[tuple[str, str, Any]]:
    """(file, query, response body) for every recorded request carrying LogQL, by response status."""
    out = []
    for path in sorted(RESPONSES.glob("*.json")):
        recording = json.loads(path.read_text(encoding="utf-8"))
        request, response = recording["request"], recording["response"]
        if response["status"] != status:
            continue
        params = dict(request.get("params") or {})
        if isinstance(request.get("body"), str) and "query=" in request["body"]:
            params["query"] = parse_qs(request["body"])["query"][0]
        for name in ("query", "match[]"):
            values = params.get(name)
            for value in values if isinstance(values, list) else [values] if values else []:
                out.append((path.name, value, response["body"]))
    return out


def recorded_parse_errors() -> list[tuple[str, str, str]]:
    """(file, query, Loki's text) for the recorded 400s that are LogQL parse errors."""
    out = []
    for path in sorted(RESPONSES.glob("error_*.json")):
        recording = json.loads(path.read_text(encoding="utf-8"))
        body = recording["response"]["body"]
        if isinstance(body, str) and body.startswith("parse error"):
            out.append((path.name, recording["request"]["params"].get("query", ""), body))
    return out


def rejection(text: str) -> LogQLSyntaxError:
    with pytest.raises(LogQLSyntaxError) as caught:
        parse_logql(text)
    return caught.value


# -- the recordings ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "query", "body"), recorded_queries(200), ids=lambda v: str(v)[:60])
def test_every_query_loki_answered_parses_and_round_trips(name: str, query: str, body: Any) -> None:
    parsed = parse_logql(query)
    assert parse_logql(str(parsed)) == parsed


def test_the_recordings_hold_both_log_and_metric_queries() -> None:
    kinds = {parse_logql(query).kind for _, query, _ in recorded_queries(200)}
    assert kinds == {"log", "metric"}
    assert len(recorded_parse_errors()) == 7


@pytest.mark.parametrize(("name", "query", "loki_text"), recorded_parse_errors(), ids=lambda v: str(v)[:40])
def test_every_recorded_loki_parse_error_is_rejected_with_lokis_text(
    name: str, query: str, loki_text: str
) -> None:
    error = rejection(query)
    assert error.detail == loki_text
    assert isinstance(error, QuerySyntaxError)
    assert error.language == "LogQL"


def test_an_unterminated_string_reports_lokis_line_and_column_and_the_offset() -> None:
    error = rejection('{app="x"} |= "unterminated')
    assert error.detail == "parse error at line 1, col 14: literal not terminated"
    assert error.position == 13
    assert str(error).startswith("invalid LogQL at position 13: ")


def test_positions_count_lines_and_columns_in_multi_line_queries() -> None:
    text = 'sum by (app) (\n  count_over_time({app="x"} | json\n)'
    error = rejection(text)
    assert error.detail.startswith("parse error at line 3, col 1: syntax error: unexpected )")
    assert error.position == text.rindex(")")


# -- messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{}", EMPTY_COMPATIBLE),
        ('{app!="x"}', EMPTY_COMPATIBLE),
        ('{app=""}', EMPTY_COMPATIBLE),
        ('{app=~".*"}', EMPTY_COMPATIBLE),
        ('{app=~"x|"}', EMPTY_COMPATIBLE),
        ('count_over_time({app!~"a.*"}[5m])', EMPTY_COMPATIBLE),
        ('{app=~"shop-(front"}', "error parsing regexp: missing closing ): `shop-(front`"),
        ('{app="x"} |~ "a[b"', "error parsing regexp: missing closing ]: `[b`"),
        ('{app="x"} |~ `a(?=b)`', "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"),
        ('{app="x"} |~ `(a)\\1`', "error parsing regexp: invalid escape sequence: `\\1`"),
        ('{app="x"} |~ "a**"', "error parsing regexp: invalid nested repetition operator: `**`"),
        ('{app="x"} | level=~"[z-a]"', "error parsing regexp: invalid character class range: `z-a`"),
        ('{app="x"} |= "a\\qb"', "invalid char escape"),
        ('count_over_time({app="x"})', "syntax error: unexpected ), expecting [ or |"),
        ('rate({app="x"} | json)', "rate needs a range after the log query"),
        ('foo_over_time({app="x"}[5m])', "unknown function foo_over_time"),
        ('cout_over_time({app="x"}[5m])', "did you mean count_over_time?"),
        ('{app="x"} | logfmt | unwrap duration', "unwrap only works inside a range aggregation"),
        ('{app="x"}[5m]', "a range needs a range aggregation around it"),
        ('sum({app="x"})', "a log query needs a range aggregation here"),
        ('{app="x"} / 2', "a log query cannot be an operand"),
        ('sum_over_time({app="x"}[5m])', "invalid aggregation sum_over_time without unwrap"),
        ('count_over_time({app="x"} | unwrap n [5m])', "invalid aggregation count_over_time with unwrap"),
        (
            'quantile_over_time({app="x"} | unwrap n [5m])',
            "parameter required for operation quantile_over_time",
        ),
        ('rate(0.5, {app="x"}[5m])', "parameter 0.5 not supported for operation rate"),
        ('count_over_time({app="x"}[5m]) by (a)', "grouping not allowed for count_over_time aggregation"),
        ('topk(rate({app="x"}[5m]))', "parameter required for operation topk"),
        ('topk(1.5, rate({app="x"}[5m]))', "invalid parameter topk(1.5,"),
        ('topk(0, rate({app="x"}[5m]))', "invalid parameter (must be greater than 0) topk(0"),
        ('sum(3, rate({app="x"}[5m]))', "unsupported parameter for operation sum(3,"),
        ("vector(1) and 2", "unexpected literal for right leg of logical/set binary operation (and)"),
        ("vector(1) + bool vector(2)", "bool modifier can only be used on comparison operators"),
        ('sum_over_time({app="x"} | unwrap n | json [5m])', "only label filters may follow unwrap"),
        ('{app="x"} | regexp "(\\\\d+)"', "at least one named capture must be supplied"),
        ('{app="x"} | pattern "<_> x"', "at least one capture is required"),
        ('{app="x"} | label_format a=b, a=c', "multiple label name 'a' in label_format"),
        ('label_replace(vector(1), "a", "b", "c", "(")', "invalid regex in label_replace"),
        ('count_over_time({app="x"}[5x])', 'not a valid duration string: "5x"'),
        ('count_over_time({app="x"}[5m)', "missing closing ']' in duration"),
        ("", "parse error : syntax error: unexpected $end"),
        ("  # only a comment", "parse error : syntax error: unexpected $end"),
    ],
)
def test_invalid_queries_are_rejected_with_a_precise_message(query: str, message: str) -> None:
    assert message in rejection(query).detail


def test_semantic_errors_use_lokis_positionless_form_but_keep_the_offset() -> None:
    error = rejection('{env="prod"} or sum_over_time({app="x"}[5m])')
    assert error.detail.startswith("parse error at line 1, col 14: syntax error: unexpected or")
    error = rejection('sum(sum_over_time({app="x"}[5m]))')
    assert error.detail.startswith("parse error : invalid aggregation sum_over_time without unwrap (add")
    assert error.position == 4


def test_syntax_errors_are_reported_before_semantic_ones() -> None:
    assert "syntax error" in rejection('{app=""} |= "x" |').detail


def test_deep_nesting_is_rejected_not_crashing() -> None:
    assert "nested too deeply" in rejection("(" * 500 + "1" + ")" * 500).detail


# -- grammar ----------------------------------------------------------------------------------


CANONICAL = [
    '{app="x"} |= "a" or "b" != "c" |~ "d" !~ "e" |> "<_> err <_>" !> "x"',
    '{app="x"} | json a="b.c", d | logfmt --strict --keep-empty | unpack',
    '{app="x"} | regexp "(?P<ip>\\\\S+)" | pattern "<ip> <_>"',
    '{app="x"} | a="1" and (b="2" or c="3") | size < 10KB',
    '{app="x"} | line_format "{{.msg}}" | label_format a=b, c="{{.d}}"',
    '{app="x"} | drop a, b="c" | keep d | decolorize',
    '{app="x"} | addr = ip("10.0.0.0/8") |= ip("1.2.3.4")',
    'rate({app="x"} | json [1h30m] offset 5m)',
    'quantile_over_time(0.95, {app="x"} | json | unwrap duration(ms) | __error__="" [5m]) by (app)',
    'topk by (a) (3, count_over_time({app="x"}[5m]))',
    'sum(rate({a="b"}[1m])) / on (x) group_left (y) sum(rate({c="d"}[1m])) > bool 0.5',
    "(1 + 2) * 3 ^ 2 ^ -1",
    "1 - (2 - 3)",
    'sum(rate({a="b"}[1m])) or vector(0)',
    'label_replace(rate({a="b"}[1m]), "dst", "$1", "src", "(.*)")',
]


@pytest.mark.parametrize("query", CANONICAL)
def test_canonical_queries_render_unchanged(query: str) -> None:
    assert str(parse_logql(query)) == query


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ('{app="x",env=~`p.*`}', '{app="x", env=~"p.*"}'),
        (
            '{app="x"} | level="error" or s>=500, t > 1.5s',
            '{app="x"} | level="error" or s >= 500 and t > 1s500ms',
        ),
        ('count_over_time({app="x"}[24h])', 'count_over_time({app="x"}[1d])'),
        ('rate({app="x"}[5m] |= "e")', 'rate({app="x"} |= "e" [5m])'),
        ('rate(({app="x"} | json)[5m])', 'rate({app="x"} | json [5m])'),
        ('sum(rate({app="x"}[5m])) by (a,b)', 'sum by (a, b) (rate({app="x"}[5m]))'),
        ('TOPK(3, COUNT_OVER_TIME({app="x"}[5m]))', 'topk(3, count_over_time({app="x"}[5m]))'),
        ('{app="x"} # a comment\n |= "y"', '{app="x"} |= "y"'),
    ],
)
def test_queries_render_in_a_canonical_form_that_parses_back_equal(query: str, canonical: str) -> None:
    parsed = parse_logql(query)
    assert str(parsed) == canonical
    assert parse_logql(canonical) == parsed


def test_the_ast_of_a_metric_query_is_made_of_small_frozen_nodes() -> None:
    parsed = parse_logql(
        'sum by (level) (count_over_time({app="x"} |= "timeout" | json | status >= 500 [5m]))'
    )
    selector = StreamSelector((Matcher("app", "=", "x"),))
    log = LogExpr(
        selector,
        (
            LineFilter("|=", ("timeout",)),
            ParserStage("json"),
            LabelFilterStage(ComparisonFilter("status", ">=", 500.0)),
        ),
    )
    inner = RangeAggregation("count_over_time", LogRange(log, 300 * 10**9))
    assert parsed.expr == VectorAggregation("sum", inner, grouping=Grouping(("level",)))
    with pytest.raises(AttributeError):
        parsed.expr.op = "avg"  # type: ignore[misc]


def test_a_query_summarises_its_selectors_filters_parsers_ranges_and_grouping() -> None:
    parsed = parse_logql(
        'sum by (app) (rate({app="a", env!="dev"} |= "x" | logfmt [5m])) / '
        'sum by (app, level) (count_over_time({app="b"}[1h]))'
    )
    assert parsed.kind == "metric"
    assert [str(s) for s in parsed.selectors] == ['{app="a", env!="dev"}', '{app="b"}']
    assert [m.name for m in parsed.matchers] == ["app", "env", "app"]
    assert parsed.line_filters == (LineFilter("|=", ("x",)),)
    assert parsed.has_parser and parsed.parsers == (ParserStage("logfmt"),)
    assert parsed.range_windows == (300.0, 3600.0)
    assert parsed.grouping_labels == ("app", "level")
    log = parse_logql('{app="a"}')
    assert (log.kind, log.has_parser, log.range_windows, log.grouping_labels) == ("log", False, (), ())


def test_scalars_vectors_and_keywords_as_label_names_parse() -> None:
    assert parse_logql("1 + 1").expr == BinaryOp("+", NumberLiteral(1.0), NumberLiteral(1.0))
    assert parse_logql("vector(1)").expr == VectorLiteral(1.0)
    parsed = parse_logql('{rate="x", json="y"} | json | rate > 1 | by="z"')
    assert [m.name for m in parsed.matchers] == ["rate", "json"]
    assert parsed.kind == "log"


def test_label_filters_combine_with_and_binding_tighter_than_or() -> None:
    stage = parse_logql('{a="b"} | x="1" or y="2" z="3"').expr.stages[0]  # type: ignore[union-attr]
    assert isinstance(stage, LabelFilterStage)
    expected = LogicalLabelFilter(
        "or",
        LabelMatchFilter(Matcher("x", "=", "1")),
        LogicalLabelFilter(
            "and", LabelMatchFilter(Matcher("y", "=", "2")), LabelMatchFilter(Matcher("z", "=", "3"))
        ),
    )
    assert stage.filter == expected


def test_unwrap_keeps_its_conversion_and_post_filters() -> None:
    parsed = parse_logql('avg_over_time({a="b"} | logfmt | unwrap bytes(size) | __error__="" [1m])')
    log_range = parsed.expr.range  # type: ignore[union-attr]
    assert log_range.unwrap == Unwrap("size", "bytes", (LabelMatchFilter(Matcher("__error__", "=", "")),))


def test_strings_decode_go_escapes_and_raw_strings_stay_raw() -> None:
    parsed = parse_logql('{a="b"} |= "tab\\there \\"q\\" \\u00e9\\xc3\\xa9 \\101" |= `C:\\dir\\n`')
    values = [f.values[0] for f in parsed.line_filters]
    assert values == ['tab\there "q" éé A', "C:\\dir\\n"]


# -- Go regular expressions --------------------------------------------------------------------


def test_go_inline_flags_apply_to_the_rest_of_their_group_like_in_go() -> None:
    compiled = compile_go_regex("foo(?i)bar|baz")
    assert compiled is not None
    assert compiled.fullmatch("fooBAR") and compiled.fullmatch("BAZ")
    assert not compiled.fullmatch("FOObar")


def test_go_only_syntax_is_translated_and_unverifiable_syntax_is_accepted() -> None:
    posix = compile_go_regex("[[:alpha:]]+[[:digit:]]")
    assert posix is not None and posix.fullmatch("abc1")
    named = compile_go_regex("(?<host>[a-z]+)\\z")
    assert named is not None and named.groupindex == {"host": 1}
    quoted = compile_go_regex("\\Qa.b\\E")
    assert quoted is not None and quoted.fullmatch("a.b") and not quoted.fullmatch("axb")
    assert compile_go_regex("\\pL+") is None
    assert parse_logql('{a="b"} |~ "\\\\pL+"').kind == "log"


# -- round trip and injection -------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
NAMES = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True)
NASTY = ['"} or vector(1)', '"}|= "x', "`", '\\"', "{", "}", "\n", "\\", '", b="', "\x00", "é😀"]


@st.composite
def log_queries(draw: st.DrawFn) -> LogExpr:
    """Small log queries built as ASTs: a non-empty selector, line filters, a parser, label filters."""
    first = Matcher(draw(NAMES), "=", draw(TEXT.filter(bool)))
    more = draw(st.lists(st.builds(Matcher, NAMES, st.sampled_from(["=", "!="]), TEXT), max_size=2))
    stages: list[Any] = draw(
        st.lists(st.builds(LineFilter, st.sampled_from(["|=", "!="]), st.tuples(TEXT)), max_size=2)
    )
    if draw(st.booleans()):
        stages.append(ParserStage(draw(st.sampled_from(["json", "logfmt"]))))
    number = st.integers(-1000, 10**6).map(float)
    label_filter = st.one_of(
        st.builds(LabelMatchFilter, st.builds(Matcher, NAMES, st.sampled_from(["=", "!="]), TEXT)),
        st.builds(ComparisonFilter, NAMES, st.sampled_from([">", ">=", "<", "<=", "==", "!="]), number),
    )
    stages += [LabelFilterStage(f) for f in draw(st.lists(label_filter, max_size=2))]
    return LogExpr(StreamSelector((first, *more)), tuple(stages))


@st.composite
def metric_queries(draw: st.DrawFn) -> Any:
    """Range aggregations of generated log queries, optionally aggregated and combined."""
    seconds = draw(st.integers(1, 86400 * 7))
    inner: Any = RangeAggregation(
        draw(st.sampled_from(["count_over_time", "rate", "bytes_over_time", "bytes_rate"])),
        LogRange(draw(log_queries()), seconds * 10**9),
    )
    if draw(st.booleans()):
        grouping = draw(
            st.none() | st.builds(Grouping, st.lists(NAMES, max_size=3).map(tuple), st.booleans())
        )
        inner = VectorAggregation(
            draw(st.sampled_from(["sum", "avg", "max", "min", "count"])), inner, None, grouping
        )
    if draw(st.booleans()):
        op = draw(st.sampled_from(["+", "-", "*", "/", ">", "<="]))
        return BinaryOp(op, inner, NumberLiteral(draw(st.floats(-1e6, 1e6, allow_nan=False))))
    return inner


@settings(max_examples=300, deadline=None)
@given(st.one_of(log_queries(), metric_queries()))
def test_generated_queries_render_and_parse_back_to_the_same_ast(expr: Any) -> None:
    assert parse_logql(str(expr)).expr == expr


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_is_either_parsed_or_rejected_with_a_syntax_error(text: str) -> None:
    try:
        parsed = parse_logql(text)
    except LogQLSyntaxError as error:
        assert error.detail.startswith("parse error")
    else:
        assert parse_logql(str(parsed)) == parsed


@pytest.mark.parametrize("value", NASTY)
def test_a_built_selector_keeps_hostile_values_as_exactly_one_value(value: str) -> None:
    text = stream_selector({"app": value, "env": "prod"})
    parsed = parse_logql(text)
    assert parsed.kind == "log"
    assert parsed.matchers == (Matcher("app", "=", value), Matcher("env", "=", "prod"))


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_an_escaped_string_decodes_to_exactly_the_input(value: str) -> None:
    parsed = parse_logql(f'{{app="x"}} |= {escape_logql_string(value)}')
    assert parsed.line_filters == (LineFilter("|=", (value,)),)
    assert re.fullmatch(r'"[^\n]*"', escape_logql_string(value))


def test_a_built_selector_rejects_bad_label_names_and_only_empty_values() -> None:
    for name in ("", "1app", "a-b", 'a"}', "a b"):
        with pytest.raises(QuerySyntaxError, match="invalid label name"):
            stream_selector({name: "x"})
    with pytest.raises(QuerySyntaxError, match="empty-compatible"):
        stream_selector({"app": ""})
    with pytest.raises(QuerySyntaxError, match="empty-compatible"):
        stream_selector({})


def test_add_line_filter_puts_the_escaped_text_first_in_every_pipeline() -> None:
    text = add_line_filter('sum(rate({a="b"} | json [5m])) / sum(rate({a="c"}[5m]))', 'db "timeout"')
    assert text == (
        'sum(rate({a="b"} |= "db \\"timeout\\"" | json [5m])) / sum(rate({a="c"} |= "db \\"timeout\\"" [5m]))'
    )
    assert add_line_filter('{a="b"} | logfmt', "x") == '{a="b"} |= "x" | logfmt'
