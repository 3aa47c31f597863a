"""`aiops-mcp chat` in the terminal: ask, watch the tools run, read the answer and its queries.

Rendering with rich: the answer streams as it comes; each tool call shows a spinner while it
runs, then one trace line (✓ or ✗, seconds); structured results become tables (series with their
statistics and a sparkline, counts by level, an events timeline as a sparkline, log lines coloured
by level, per-signal verdicts, SLOs), every part of a result (metrics and logs alike); the queries
an answer rests on are listed under it. The first line says which mode answers: a model, or
offline. A turn that fails (the server lost, anything else) is shown as an error and the chat goes
on.
"""

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
from rich.console import Console, RenderableType
from rich.markdown import Markdown
from rich.status import Status
from rich.table import Table
from rich.text import Text

from aiops_mcp.analysis.series import format_number, sparkline
from aiops_mcp.client_demo.events import Answer, Event, Notice, Token, ToolFinished, ToolStarted

PROMPT = "ask> "
EXIT_WORDS = {"exit", "quit", ":q"}
LOG_LINES_SHOWN = 10
LINE_CHARS = 160
LEVEL_STYLES = {"error": "red", "critical": "bold red", "warn": "yellow", "info": "", "debug": "dim"}


def result_tables(finished: ToolFinished) -> list[RenderableType]:
    """What people read of a structured result: a table (or sparkline) per part it holds."""
    data = finished.structured or {}
    parts = [p for p in (data.get("metrics"), data.get("logs")) if isinstance(p, dict)] or [data]
    return [shown for part in parts for shown in _part(finished.name, part)]


def _part(name: str, data: dict[str, Any]) -> Iterator[RenderableType]:
    if data.get("series"):
        table = Table("series", "min", "mean", "max", "last", "trend", title=name)
        for series in data["series"]:
            stats = series["stats"]
            labels = ",".join(f"{k}={v}" for k, v in series["labels"].items()) or "{}"
            points = [p[1] for p in series.get("points", []) if p[1] is not None]
            table.add_row(
                labels, *(format_number(stats[k]) for k in ("min", "mean", "max", "last")), sparkline(points)
            )
        yield table
    if levels := data.get("levels") or data.get("level_counts"):
        table = Table("level", "count", "%", title=name)
        for level in levels:
            table.add_row(level["level"], f"{level['count']:,}", format_number(level["percent"]))
        yield table
    if data.get("timeline") and data.get("bucket_seconds"):
        minutes = format_number(data["bucket_seconds"] / 60)
        peak = max(data["timeline"])
        yield (
            Text(f"events per {minutes} min from {data.get('timeline_start')}: ", style="dim")
            .append(sparkline(data["timeline"], width=48), style="bold")
            .append(f" (peak {peak:,})", style="dim")
        )
    if data.get("lines"):
        yield _log_lines(name, data["lines"], more=bool(data.get("more_lines")))
    if data.get("signals"):
        table = Table("signal", "worst", "mean", "verdict", title=name)
        for s in data["signals"]:
            verdict = (
                "impacted" if s["impacted"] else "not impacted" if s["impacted"] is False else s["status"]
            )
            table.add_row(
                s["signal"], f"{format_number(s['peak'])} {s['unit']}", format_number(s["mean"]), verdict
            )
        yield table
    if data.get("slos"):
        table = Table("SLO", "measured", "target", "met", title=f"{name}: {data.get('verdict')}")
        for s in data["slos"]:
            met = "yes" if s["compliant"] else "no" if s["compliant"] is False else "no data"
            table.add_row(
                s["name"], f"{format_number(s['measured'])}{s['unit']}", format_number(s["target"]), met
            )
        yield table


def _log_lines(name: str, lines: list[dict[str, Any]], more: bool) -> Table:
    shown = lines[:LOG_LINES_SHOWN]
    hidden = len(lines) - len(shown)
    note = f" (newest {len(shown)} of {len(lines)}{' and more' if more else ''})" if hidden or more else ""
    table = Table("time", "level", "line", title=f"{name}: log lines{note}")
    for line in shown:
        level = str(line.get("level") or "unknown")
        text = str(line.get("line", ""))
        text = text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + "…"
        style = LEVEL_STYLES.get(level.lower(), "")
        table.add_row(str(line.get("time", "")), Text(level, style=style), Text(text, style=style))
    return table


class TerminalView:
    """Renders a turn's events on a rich console."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: Status | None = None
        self.streamed = ""  # text streamed since the last other event (on the current line)

    def show(self, event: Event) -> None:
        if isinstance(event, Token):
            self.streamed += event.text
            self.console.print(event.text, end="", soft_wrap=True, markup=False, highlight=False)
            return
        # The streamed text so far was not (or not yet) the answer: end its line before the rest.
        streamed, self.streamed = self.streamed, ""
        if streamed:
            self.console.print()
        if isinstance(event, ToolStarted):
            self.status = self.console.status(f"running {event.name}({_args(event.arguments)})")
            self.status.start()
        elif isinstance(event, ToolFinished):
            self._stop()
            mark = "[red]✗[/]" if event.is_error else "[green]✓[/]"
            self.console.print(f"{mark} {event.name}({_args(event.arguments)}) {event.seconds:.2f}s")
            if event.is_error:
                self.console.print(f"  [red]{event.text[:500]}[/]", markup=True, highlight=False)
            else:
                for shown in result_tables(event):
                    self.console.print(shown)
        elif isinstance(event, Notice):
            self._stop()
            self.console.print(f"[yellow]note:[/] {event.text}", highlight=False)
        elif isinstance(event, Answer):
            self._stop()
            if streamed.strip() != event.text.strip():  # not streamed as it is: show it whole
                self.console.print(Markdown(event.text))
            for query in event.queries:
                if query not in event.text:  # not twice when the answer already cites it
                    self.console.print(f"  [dim]query:[/] {query}", highlight=False, markup=True)

    def fail(self, error: BaseException) -> None:
        """A turn that ended in an error: say it, on its own line."""
        self._stop()
        if self.streamed:
            self.console.print()
            self.streamed = ""
        self.console.print(Text(f"error: {error}", style="red"))

    def _stop(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


def _args(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in arguments.items())


async def repl(
    ask: Callable[[str], AsyncIterator[Event]],
    mode: str,
    read: Callable[[str], str] = input,
    console: Console | None = None,
) -> None:
    """Read questions until EOF or 'exit', rendering each answer; `mode` is shown first. A turn
    that raises is shown as an error and the next question is read."""
    console = console or Console()
    console.print(f"aiops-mcp chat — mode: [bold]{mode}[/]. Ask about your apps; 'exit' to leave.")
    view = TerminalView(console)
    while True:
        try:
            question = (await anyio.to_thread.run_sync(read, PROMPT)).strip()
        except (EOFError, KeyboardInterrupt):
            break
        if question.lower() in EXIT_WORDS:
            break
        if not question:
            continue
        try:
            async for event in ask(question):
                view.show(event)
        except Exception as error:
            view.fail(error)
