"""`LogQLQuery`, what `parse_logql` returns: the syntax tree and the summaries tools ask of it."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from aiops_mcp.query.logql.ast import (
    Expr,
    Grouping,
    LineFilter,
    LogExpr,
    LogRange,
    Matcher,
    ParserStage,
    StreamSelector,
    walk,
)


@dataclass(frozen=True)
class LogQLQuery:
    """A parsed LogQL query: the AST in `expr`, summaries as properties, `str()` the canonical text."""

    expr: Expr

    def __str__(self) -> str:
        return str(self.expr)

    @property
    def kind(self) -> Literal["log", "metric"]:
        """``log`` for a selector and pipeline (returns lines), ``metric`` for anything returning numbers."""
        return "log" if isinstance(self.expr, LogExpr) else "metric"

    def nodes(self) -> Iterator[object]:
        """Every node of the AST, depth first."""
        return walk(self.expr)

    @property
    def selectors(self) -> tuple[StreamSelector, ...]:
        """The stream selectors, in source order."""
        return tuple(n for n in self.nodes() if isinstance(n, StreamSelector))

    @property
    def matchers(self) -> tuple[Matcher, ...]:
        """The stream matchers of every selector (not label filters)."""
        return tuple(m for s in self.selectors for m in s.matchers)

    @property
    def line_filters(self) -> tuple[LineFilter, ...]:
        """The line filters, in source order."""
        return tuple(n for n in self.nodes() if isinstance(n, LineFilter))

    @property
    def parsers(self) -> tuple[ParserStage, ...]:
        """The parser stages (json, logfmt, regexp, pattern, unpack)."""
        return tuple(n for n in self.nodes() if isinstance(n, ParserStage))

    @property
    def has_parser(self) -> bool:
        """Whether any pipeline extracts labels from lines."""
        return bool(self.parsers)

    @property
    def range_windows(self) -> tuple[float, ...]:
        """The range windows of the range aggregations, in seconds."""
        return tuple(n.range_ns / 1e9 for n in self.nodes() if isinstance(n, LogRange))

    @property
    def groupings(self) -> tuple[Grouping, ...]:
        """Every `by`/`without` clause."""
        return tuple(n for n in self.nodes() if isinstance(n, Grouping))

    @property
    def grouping_labels(self) -> tuple[str, ...]:
        """Labels named in `by (...)` clauses, first occurrence first."""
        names = (label for g in self.groupings if not g.without for label in g.labels)
        return tuple(dict.fromkeys(names))
