"""Parsed backend data, shared by the Prometheus and Loki clients.

Plain slotted dataclasses rather than pydantic models: a range query can carry millions of
points and these are built on the hot path.
"""

from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
ResultType = Literal["matrix", "vector", "scalar", "string", "streams"]


@dataclass(slots=True)
class Series:
    """One time series: its labels and its samples (unix seconds, float values), in time order."""

    labels: dict[str, str]
    timestamps: list[float]
    values: list[float]


@dataclass(slots=True)
class LogEntry:
    """One log line with the labels of the stream it came from."""

    timestamp_ns: int
    line: str
    labels: dict[str, str]


@dataclass(slots=True)
class QueryData:
    """The parsed `data` of a query or query_range answer.

    `series` holds matrix/vector/scalar results (a vector sample is a one-point series, a scalar
    a one-point series with no labels); `entries` holds log lines (resultType `streams`), merged
    across streams and sorted by time in the query's direction.
    """

    result_type: ResultType
    series: list[Series] = field(default_factory=list)
    entries: list[LogEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Listing(Generic[T]):
    """Some items of a list and how many existed, so callers can report truncation.

    `total` is None when the backend only told us that more existed than were returned.
    """

    items: list[T]
    total: int | None
    warnings: list[str] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.total is None or self.total > len(self.items)
