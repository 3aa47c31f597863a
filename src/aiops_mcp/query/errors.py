"""Errors for input the caller can fix: a bad time range or a malformed query."""


class QueryInputError(ValueError):
    """Input that cannot be turned into a query. The message says what to change."""


class TimeRangeError(QueryInputError):
    """A time or range that cannot be parsed, is impossible, or exceeds the configured limit."""


class QuerySyntaxError(QueryInputError):
    """A PromQL or LogQL expression that does not parse; `position` is a 0-based offset when known."""

    def __init__(self, language: str, message: str, position: int | None = None) -> None:
        self.language = language
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"invalid {language}{where}: {message}")
