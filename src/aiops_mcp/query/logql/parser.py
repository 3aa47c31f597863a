"""Parsing LogQL: `parse_logql` and the recursive descent over metric expressions.

Binary operators are parsed by precedence climbing; range and vector aggregations, ``vector()`` and
``label_replace()`` are checked against Loki's rules, with Loki's messages. Log queries inside them
are parsed by `LogQueryParser`."""

import difflib
from dataclasses import dataclass
from typing import Literal

from aiops_mcp.query.logql.ast import (
    BinaryOp,
    Expr,
    Grouping,
    LabelReplace,
    LogExpr,
    LogRange,
    MetricExpr,
    NumberLiteral,
    RangeAggregation,
    Unwrap,
    VectorAggregation,
    VectorLiteral,
    VectorMatching,
)
from aiops_mcp.query.logql.errors import LogQLSyntaxError
from aiops_mcp.query.logql.grammar import (
    COMPARISON_OPS,
    FUNCTIONS,
    PRECEDENCE,
    RANGE_GROUPING_ALLOWED,
    RANGE_OPS,
    UNWRAP_ALLOWED,
    UNWRAP_REQUIRED,
    VECTOR_OPS,
)
from aiops_mcp.query.logql.lexer import Token
from aiops_mcp.query.logql.literals import format_number
from aiops_mcp.query.logql.log_parser import LogQueryParser
from aiops_mcp.query.logql.query import LogQLQuery
from aiops_mcp.query.logql.regex import GoRegexError, compile_go_regex


def parse_logql(text: str) -> LogQLQuery:
    """Parse and validate a LogQL query; raise `LogQLSyntaxError` (a `QuerySyntaxError`) if Loki would."""
    parser = Parser(text)
    if parser.peek().kind == "eof":
        raise LogQLSyntaxError("parse error : syntax error: unexpected $end", 0)
    expr = parser.parse_expr(1)
    if parser.peek().kind != "eof":
        parser.unexpected(parser.peek())
    if parser.deferred:
        raise parser.deferred[0]
    return LogQLQuery(expr)


@dataclass
class _RangeParts:
    """The pieces of a range aggregation's argument, gathered in whichever order they were written."""

    log: LogExpr
    unwrap: Unwrap | None = None
    range_ns: int | None = None
    offset_ns: int = 0


class Parser(LogQueryParser):
    """The whole LogQL grammar: metric expressions here, log queries in `LogQueryParser`."""

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

    def metric(self, expr: Expr, after: Token) -> MetricExpr:
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
            self.defer(tok.pos, f"parameter {format_number(param)} not supported for operation {op}")
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
