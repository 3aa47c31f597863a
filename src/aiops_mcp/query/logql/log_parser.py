"""Parsing log queries: stream selectors, and pipelines of line filters, parsers, label filters,
formatting stages and ``unwrap``."""

import re
from collections.abc import Callable

from aiops_mcp.query.logql.ast import (
    ComparisonFilter,
    Decolorize,
    DropLabels,
    IpLabelFilter,
    KeepLabels,
    LabelExtraction,
    LabelFilterExpr,
    LabelFilterStage,
    LabelFormat,
    LabelFormatItem,
    LabelMatchFilter,
    LineFilter,
    LineFormat,
    LogExpr,
    LogicalLabelFilter,
    Matcher,
    ParserStage,
    Stage,
    StreamSelector,
    Unwrap,
)
from aiops_mcp.query.logql.cursor import TokenCursor
from aiops_mcp.query.logql.errors import EMPTY_COMPATIBLE
from aiops_mcp.query.logql.grammar import (
    CONVERSIONS,
    LABEL_FILTER_OPS,
    LINE_FILTER_OPS,
    MATCH_OPS,
    STAGE_WORDS,
)
from aiops_mcp.query.logql.lexer import Token
from aiops_mcp.query.logql.literals import escape_logql_string
from aiops_mcp.query.logql.regex import GoRegexError, compile_go_regex


class LogQueryParser(TokenCursor):
    """Recursive descent over the log-query part of LogQL."""

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
