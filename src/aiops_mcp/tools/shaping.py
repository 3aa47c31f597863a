"""Result models for series, log lines and name lists, built from datasource data and rendered as text."""

from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, Field

from aiops_mcp.analysis.logs import LevelCount
from aiops_mcp.analysis.series import format_number, round_sig, shape_series
from aiops_mcp.datasources.models import LogEntry, QueryData
from aiops_mcp.datasources.stale import StaleAnswers
from aiops_mcp.tools.contract import (
    STALE_SINCE,
    Provenance,
    Stats,
    Status,
    fit_lines,
    iso,
    label_text,
    spark,
    stale_marks,
    stats_text,
    warning_lines,
)


class SeriesOut(BaseModel):
    labels: dict[str, str]
    stats: Stats
    points: list[tuple[float, float | None]] = Field(
        description="[unix_seconds, value] preview, extremes kept; stats use every sample."
    )


class MetricResult(BaseModel):
    """Series from an instant or range query: the largest first, each with exact statistics."""

    status: Status
    provenance: Provenance
    series_total: int
    series: list[SeriesOut]
    series_omitted: int = 0
    warnings: list[str] = Field(default_factory=list)
    more: str | None = Field(default=None, description="Resource URI to page through every series.")


class LevelCountOut(BaseModel):
    level: str
    count: int
    percent: float


class LogLineOut(BaseModel):
    time: str
    level: str
    line: str
    labels: dict[str, str] = Field(default_factory=dict, description="Stream labels beyond common_labels.")


class LogResult(BaseModel):
    """Log lines (newest first unless asked otherwise) and exact counts by level over the whole window."""

    status: Status
    provenance: Provenance
    lines: list[LogLineOut]
    more_lines: bool = Field(description="True when more lines matched than were returned.")
    common_labels: dict[str, str] = Field(default_factory=dict)
    level_counts: list[LevelCountOut] = Field(default_factory=list)
    total_matching: int | None = Field(default=None, description="Lines matching in the whole window.")
    lines_clipped: int = Field(default=0, description="Lines whose text was cut to the line budget.")
    warnings: list[str] = Field(default_factory=list)
    more: str | None = None


class NamesResult(BaseModel):
    """Names (metrics, labels, label values), optionally with a detail each (type, help, volume)."""

    status: Status
    datasource: str
    what: str
    names: list[str]
    details: dict[str, str] = Field(default_factory=dict)
    total: int
    omitted: int = 0
    stale_since: str | None = Field(default=None, description=STALE_SINCE)
    warnings: list[str] = Field(default_factory=list)


def mark_stale(result: MetricResult | LogResult | NamesResult, stale: StaleAnswers) -> None:
    """Say in `result` that it was built (in part) from stale answers, if it was."""
    since, notes = stale_marks(stale)
    if since is None:
        return
    if isinstance(result, NamesResult):
        result.stale_since = since
    else:
        result.provenance.stale_since = since
    result.warnings[:0] = notes


def names_result(
    datasource: str, what: str, names: Iterable[str], limit: int, details: Mapping[str, str] | None = None
) -> NamesResult:
    """The first `limit` names in sorted order, with their details, counting the rest."""
    ordered = sorted(names)
    shown = ordered[:limit]
    status = Status.EMPTY if not ordered else Status.TRUNCATED if len(ordered) > limit else Status.OK
    return NamesResult(
        status=status,
        datasource=datasource,
        what=what,
        names=shown,
        details={n: details[n] for n in shown if details and n in details},
        total=len(ordered),
        omitted=len(ordered) - len(shown),
    )


def metric_result(
    data: QueryData, provenance: Provenance, *, max_series: int, max_points: int, max_results: int
) -> MetricResult:
    """Rank, cap and summarise the series of a query answer.

    At most `max_results` series (MAX_QUERY_RESULTS) are summarised and ranked; beyond that the
    result says how many were not looked at, rather than spending unbounded work on one answer.
    """
    warnings = list(data.warnings)
    if len(data.series) > max_results:
        warnings.append(
            f"{len(data.series)} series matched; only the first {max_results} (MAX_QUERY_RESULTS) were "
            "ranked: narrow the selector or aggregate (sum by (...))"
        )
    raw = [(s.labels, s.timestamps, s.values) for s in data.series[:max_results]]
    shaped, omitted = shape_series(raw, max_series, max_points)
    series = [
        SeriesOut(
            labels=s.labels,
            stats=Stats.of(s.stats),
            points=[(t, round_sig(v)) for t, v in zip(s.timestamps, s.values, strict=True)],
        )
        for s in shaped
    ]
    omitted += len(data.series) - len(raw)
    status = Status.EMPTY if not raw else Status.TRUNCATED if omitted else Status.OK
    return MetricResult(
        status=status,
        provenance=provenance,
        series_total=len(data.series),
        series=series,
        series_omitted=omitted,
        warnings=warnings,
    )


def provenance_line(p: Provenance) -> str:
    window = f"at {p.time}" if p.time else f"{p.start} → {p.end}"
    step = f" step {format_number(p.step_seconds)}s" if p.step_seconds else ""
    return f"{p.datasource} ({p.datasource_type}) {window}{step} · query: {p.query}"


def render_metric(result: MetricResult, budget: int) -> str:
    """One header line, then one line per series; cut to `budget` bytes with a note."""
    shown = len(result.series)
    head = [
        f"status={result.status} · {result.series_total} series"
        + (f", {shown} largest shown" if result.series_omitted else ""),
        provenance_line(result.provenance),
    ]
    if result.status == Status.EMPTY:
        head.append("No series matched in this window (the query ran; nothing to report).")
    head += warning_lines(result.warnings)
    instant = result.provenance.time is not None
    lines = []
    for s in result.series:
        if instant:
            value = s.points[-1][1] if s.points else None
            lines.append(f"{label_text(s.labels)} = {format_number(value)}")
        else:
            values = [v if v is not None else float("nan") for _, v in s.points]
            lines.append(f"{label_text(s.labels)}  {stats_text(s.stats)}  {spark(values)}".rstrip())
    more = result.more or "narrow the query"
    if result.series_omitted:
        lines.append(f"… {result.series_omitted} smaller series omitted; all of them: {more}")
    text, _ = fit_lines(head, lines, budget, lambda n: f"… {n} more lines cut to fit; all of them: {more}")
    return text


def common_labels(entries: Sequence[LogEntry]) -> dict[str, str]:
    """The labels every entry shares (shown once instead of on every line)."""
    if not entries:
        return {}
    shared = dict(entries[0].labels)
    for entry in entries[1:]:
        shared = {k: v for k, v in shared.items() if entry.labels.get(k) == v}
    return shared


def level_counts_out(counts: Sequence[LevelCount]) -> list[LevelCountOut]:
    return [LevelCountOut(level=c.level, count=c.count, percent=c.percent) for c in counts]


def render_logs(result: LogResult, budget: int) -> str:
    head = [
        f"status={result.status} · {len(result.lines)} lines"
        + (" (more matched)" if result.more_lines else "")
        + (f" of {result.total_matching} matching" if result.total_matching is not None else ""),
        provenance_line(result.provenance),
    ]
    if result.level_counts:
        head.append(
            "by level: "
            + ", ".join(f"{c.level} {c.count} ({format_number(c.percent)}%)" for c in result.level_counts)
        )
    if result.common_labels:
        head.append(f"all lines: {label_text(result.common_labels)}")
    if result.status == Status.EMPTY:
        head.append("No log lines matched in this window.")
    head += warning_lines(result.warnings)
    lines = [
        f"{line.time} {line.level:<5} {line.line}" + (f"  {label_text(line.labels)}" if line.labels else "")
        for line in result.lines
    ]
    more = result.more or "narrow the query or the window"
    if result.more_lines:
        lines.append(f"… more lines matched; next page: {more}")
    text, _ = fit_lines(head, lines, budget, lambda n: f"… {n} more lines cut to fit; all of them: {more}")
    return text


def render_names(result: NamesResult, budget: int) -> str:
    head = [
        f"status={result.status} · {result.total} {result.what} in {result.datasource}"
        + (f", {len(result.names)} shown" if result.omitted else "")
    ]
    head += warning_lines(result.warnings)
    lines = [f"{n}  {result.details[n]}" if n in result.details else n for n in result.names]
    if result.omitted:
        lines.append(f"… {result.omitted} more; use a narrower search")
    text, _ = fit_lines(head, lines, budget, lambda n: f"… {n} more cut to fit; use a narrower search")
    return text


def entry_time(entry: LogEntry) -> str:
    """A log entry's time as ISO-8601 with milliseconds (nanoseconds are kept in structured data)."""
    return iso(entry.timestamp_ns / 1e9) or ""
