"""LogQL's vocabulary as Loki 3.4 knows it: function names, stage words, operators and their
precedence, and which range aggregations take (or need) an unwrap, a parameter or a grouping."""

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
KEYWORDS = frozenset(
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
"""Words with a meaning of their own, named as themselves in "unexpected ..." messages."""
