"""The error a LogQL query raises when Loki would reject it, worded like Loki's own parse errors.

Syntax errors carry a line and column (``parse error at line 1, col 14: literal not terminated``);
semantic errors, which Loki reports after parsing, carry none (``parse error : ...``)."""

from typing import Self

from aiops_mcp.query.errors import QuerySyntaxError

EMPTY_COMPATIBLE = (
    "queries require at least one regexp or equality matcher that does not have an empty-compatible "
    'value. For instance, app=~".*" does not meet this requirement, but app=~".+" will'
)


class LogQLSyntaxError(QuerySyntaxError):
    """A LogQL query that Loki would reject; `detail` is the Loki-style message alone."""

    def __init__(self, detail: str, position: int | None) -> None:
        super().__init__("LogQL", detail, position)
        self.detail = detail

    @classmethod
    def at(cls, text: str, pos: int, message: str) -> Self:
        """A syntax error at offset `pos` of `text`, located by line and column as Loki does."""
        return cls(f"parse error at {_line_col(text, pos)}: {message}", pos)


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, col {col}"
