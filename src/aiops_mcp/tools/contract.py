"""The result contract every data tool follows: grounded (provenance), small (budgets), honest (status).

A result is a pydantic model (the tool's `outputSchema`, sent as structured content) plus a compact
text rendering, one line per series or log line, that is cut to the text budget with a note when
it would not fit. Numbers carry 4 significant digits; times are UTC ISO-8601 to the second.

A result built (in part) from cached answers served while a datasource was unavailable says so:
`stale_since` holds when the oldest of them was fetched, and a warning starting "STALE:" says
why; the text shows that warning as its own line. Collect with `datasources.stale.collect_stale`
around the datasource calls, then apply `stale_marks`.
"""

from collections.abc import Callable, Sequence
from enum import StrEnum

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from aiops_mcp.analysis.context import utc_text
from aiops_mcp.analysis.series import SeriesStats, format_number, round_sig, sparkline
from aiops_mcp.datasources.stale import StaleAnswers

STALE = "STALE:"


class Status(StrEnum):
    """empty: ran, nothing matched; truncated: more existed (counted); partial: a sub-query failed."""

    OK = "ok"
    EMPTY = "empty"
    TRUNCATED = "truncated"
    PARTIAL = "partial"


def iso(ts: float | None) -> str | None:
    """Unix seconds as UTC ISO-8601 (to the second; sub-second kept only when present)."""
    return None if ts is None else utc_text(ts)


STALE_SINCE = "Set when a datasource was down: cached answer fetched at this time."


class Provenance(BaseModel):
    """Exactly what ran: enough to re-run it or to cite it."""

    datasource: str
    datasource_type: str
    query: str
    start: str | None = None
    end: str | None = None
    time: str | None = Field(default=None, description="Evaluation time of an instant query.")
    step_seconds: float | None = None
    stale_since: str | None = Field(default=None, description=STALE_SINCE)


class Stats(BaseModel):
    """Statistics over every sample of the series in the window, not just the points shown."""

    samples: int
    min: float | None
    max: float | None
    mean: float | None
    last: float | None
    p95: float | None
    max_at: str | None

    @classmethod
    def of(cls, stats: SeriesStats) -> "Stats":
        return cls(
            samples=stats.samples,
            min=round_sig(stats.min),
            max=round_sig(stats.max),
            mean=round_sig(stats.mean),
            last=round_sig(stats.last),
            p95=round_sig(stats.p95),
            max_at=iso(stats.max_at),
        )


def stale_marks(stale: StaleAnswers) -> tuple[str | None, list[str]]:
    """`stale_since` and the "STALE:" warnings (one per datasource) for a result; (None, []) when fresh."""
    if stale.oldest is None:
        return None, []
    notes = []
    for name in dict.fromkeys(answer.datasource for answer in stale.answers):
        theirs = [answer for answer in stale.answers if answer.datasource == name]
        fetched = min(answer.fetched_at for answer in theirs)
        notes.append(
            f"{STALE} served from cache fetched at {iso(fetched)}; "
            f"datasource {name} is unavailable: {theirs[-1].reason}"
        )
    return iso(stale.oldest.fetched_at), notes


def warning_lines(warnings: Sequence[str]) -> list[str]:
    """Warnings as text lines: "STALE:" notes as they are, others after "warning: "."""
    return [w if w.startswith(STALE) else f"warning: {w}" for w in warnings]


def label_text(labels: dict[str, str]) -> str:
    """Labels in PromQL selector form: `name{a="x",b="y"}`."""
    name = labels.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def stats_text(stats: Stats) -> str:
    """One series' statistics on one line."""
    if stats.samples == 0 or stats.max is None:
        return "no samples"
    at = f"@{stats.max_at[11:19]}" if stats.max_at else ""
    return (
        f"min {format_number(stats.min)} max {format_number(stats.max)}{at} "
        f"mean {format_number(stats.mean)} p95 {format_number(stats.p95)} last {format_number(stats.last)}"
    )


def fit_lines(
    header: list[str], items: Sequence[str], budget: int, more: Callable[[int], str]
) -> tuple[str, int]:
    """Join header and item lines within `budget` bytes; returns the text and how many items were cut.

    When items must be cut, the last line is `more(cut)`, which says how many and how to get them.
    """
    text = "\n".join(header)
    used = len(text.encode())
    kept: list[str] = []
    for index, line in enumerate(items):
        size = len(line.encode()) + 1
        reserve = len(more(len(items) - index).encode()) + 1
        if used + size + reserve > budget:
            cut = len(items) - index
            return "\n".join([text, *kept, more(cut)]), cut
        kept.append(line)
        used += size
    return "\n".join([text, *kept]), 0


def answer_text(header: list[str], items: Sequence[str], budget: int) -> str:
    """An answer tool's text: `fit_lines` pointing to the structured result for what was cut."""
    text, _ = fit_lines(header, items, budget, lambda n: f"... {n} more lines in the structured result")
    return text


def tool_result(model: BaseModel, text: str) -> CallToolResult:
    """The MCP result: compact text for the model, the model itself as structured content."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=model.model_dump(mode="json"),
    )


def spark(values: Sequence[float]) -> str:
    """A short sparkline for text rendering."""
    return sparkline(values, 24) if len(values) > 1 else ""
