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

The modules, in the order a query goes through them: `lexer` (text to tokens), `cursor`,
`log_parser` and `parser` (tokens to the tree in `ast`, wrapped in a `query.LogQLQuery`), with
`grammar` (LogQL's words and operators), `literals` (strings, numbers, durations, byte sizes),
`regex` (Go regexes) and `errors`; `build` writes query text from values.
"""

from aiops_mcp.query.logql.ast import (
    BinaryOp,
    ComparisonFilter,
    Decolorize,
    DropLabels,
    Expr,
    Grouping,
    IpLabelFilter,
    KeepLabels,
    LabelExtraction,
    LabelFilterExpr,
    LabelFilterStage,
    LabelFormat,
    LabelFormatItem,
    LabelMatchFilter,
    LabelReplace,
    LineFilter,
    LineFormat,
    LogExpr,
    LogicalLabelFilter,
    LogRange,
    Matcher,
    MetricExpr,
    NumberLiteral,
    ParserStage,
    RangeAggregation,
    Stage,
    StreamSelector,
    Unwrap,
    VectorAggregation,
    VectorLiteral,
    VectorMatching,
    walk,
)
from aiops_mcp.query.logql.build import add_line_filter, stream_selector
from aiops_mcp.query.logql.errors import EMPTY_COMPATIBLE, LogQLSyntaxError
from aiops_mcp.query.logql.literals import (
    escape_logql_string,
    format_duration,
    parse_bytes,
    parse_duration,
    parse_go_duration,
    parse_prometheus_duration,
)
from aiops_mcp.query.logql.parser import parse_logql
from aiops_mcp.query.logql.query import LogQLQuery
from aiops_mcp.query.logql.regex import GoRegexError, compile_go_regex

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
