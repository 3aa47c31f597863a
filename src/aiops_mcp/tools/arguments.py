"""What the data tools take: argument types (with the descriptions models read) and time windows."""

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from aiops_mcp.query.step import align_range, auto_step, parse_duration, validate_step
from aiops_mcp.query.timerange import TimeRange, parse_time_range
from aiops_mcp.runtime import Runtime

PromQL = Annotated[
    str, Field(description="PromQL expression, e.g. sum by (app) (rate(http_requests_total[5m])).")
]
TimeRangeText = Annotated[
    str,
    Field(description="'last 24h', '2h', 'yesterday', 'today', 'since 14:00', or use start/end. UTC."),
]
TimeText = Annotated[str | None, Field(description="RFC 3339, unix seconds, 'now-1h', 'yesterday 14:30'.")]
Datasource = Annotated[str | None, Field(description="Datasource name; the default one if omitted.")]
PointsArg = Annotated[int | None, Field(ge=2, le=500, description="Preview points per series.")]
LabelArg = Annotated[str | None, Field(description="Give a label to list its values; omit for names.")]
LimitArg = Annotated[int, Field(ge=1, le=1000)]
Step = Annotated[str | None, Field(description="Resolution like '1m'; automatic if omitted.")]


def parse_window(
    rt: Runtime, text: str, start: str | None, end: str | None, default: str = "last 1h"
) -> TimeRange:
    """The user's range, checked against MAX_QUERY_RANGE_HOURS; `default` is the tool's default text."""
    limit = timedelta(hours=rt.settings.max_query_range_hours)
    return parse_time_range(text, start=start, end=end, now=rt.now(), max_range=limit, default=default)


def range_window(rt: Runtime, window: TimeRange, step: str | None) -> tuple[float, float, float]:
    """Start, end and step, the range aligned to the step so repeated questions hit the cache."""
    seconds = parse_duration(step) if step else auto_step(window.seconds, rt.settings.query_max_points)
    validate_step(window.seconds, seconds)
    start, end = align_range(window.start_ts, window.end_ts, seconds)
    return start, end, seconds
